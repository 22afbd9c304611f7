// A repository shaped like a real project, made deterministically and without the network by one
// `git fast-import`: source-like text files in nested folders, a long history of small changes and new
// files, and hundreds of tags. The same seed gives the same commits, byte for byte.
import { spawn } from "node:child_process";

/** How big the repository is. */
export interface RepoShape {
  commits: number;
  tags: number;
  /** Files in the first commit. */
  initialFiles: number;
}

export const REAL_SIZED: RepoShape = { commits: 2600, tags: 420, initialFiles: 650 };

/** xorshift32: a small generator whose sequence depends only on its seed. */
function generator(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  return { next, below: (n: number) => next() % n };
}

const WORDS = (
  "account amount balance batch buffer cache client config context count customer data date delivery " +
  "discount entry error event field filter format handler header index invoice item key limit line list " +
  "logger message order owner page payment period price product query queue rate record report request " +
  "response result row schema session state status stock store tax tenant total type user value warehouse"
).split(" ");
const TYPES = ["string", "number", "boolean", "Date", "bigint", "readonly string[]", "Record<string, number>"];

/** A TypeScript-looking file of about `lines` lines. */
function sourceFile(rnd: ReturnType<typeof generator>, lines: number): string {
  const word = () => WORDS[rnd.below(WORDS.length)] as string;
  const ident = () => `${word()}${word().replace(/^./, (c) => c.toUpperCase())}${rnd.below(1000)}`;
  const out: string[] = [`// ${word()} ${word()} ${word()}: generated for the forge bench`, ""];
  while (out.length < lines) {
    const name = ident();
    out.push(`export interface ${name.replace(/^./, (c) => c.toUpperCase())} {`);
    for (let i = 0, n = 2 + rnd.below(6); i < n; i++)
      out.push(`  ${ident()}: ${TYPES[rnd.below(TYPES.length)]}; // ${word()} ${rnd.next().toString(36)}`);
    out.push("}", "");
    out.push(`export function ${name}(${ident()}: number, ${ident()}: string): number {`);
    for (let i = 0, n = 2 + rnd.below(8); i < n; i++)
      out.push(`  const ${ident()} = ${rnd.below(100000)} * ${rnd.next().toString(16)}n + "${word()}-${word()}";`);
    out.push(`  return ${rnd.below(1 << 20)};`, "}", "");
  }
  return `${out.join("\n")}\n`;
}

/** Replaces a few lines of `text` with new ones (a small change, as most commits are). */
function edit(rnd: ReturnType<typeof generator>, text: string): string {
  const lines = text.split("\n");
  for (let i = 0, n = 1 + rnd.below(4); i < n; i++) {
    const at = 2 + rnd.below(Math.max(1, lines.length - 3));
    lines[at] = `  // changed: ${WORDS[rnd.below(WORDS.length)]} ${rnd.next().toString(36)} ${rnd.next().toString(36)}`;
  }
  return lines.join("\n");
}

/** Writes the repository into the bare repository `dir` (which must exist, empty); resolves when done. */
export async function makeRepository(dir: string, shape: RepoShape = REAL_SIZED, seed = 20261207): Promise<void> {
  const rnd = generator(seed);
  const child = spawn("git", ["-C", dir, "fast-import", "--quiet", "--done"], { stdio: ["pipe", "ignore", "pipe"] });
  let err = "";
  child.stderr.on("data", (c: Buffer) => {
    err += c.toString();
  });
  const done = new Promise<void>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => (code === 0 ? resolve() : reject(new Error(`git fast-import failed: ${err}`))));
  });
  const chunks: Buffer[] = [];
  let pending = 0;
  const write = async (s: string | Buffer) => {
    const b = typeof s === "string" ? Buffer.from(s, "utf8") : s;
    chunks.push(b);
    pending += b.length;
    if (pending > 1 << 20) await flush();
  };
  const flush = async () => {
    const data = Buffer.concat(chunks);
    chunks.length = 0;
    pending = 0;
    if (!child.stdin.write(data)) await new Promise((r) => child.stdin.once("drain", r));
  };
  const data = async (content: string) => {
    const b = Buffer.from(content, "utf8");
    await write(`data ${b.length}\n`);
    await write(b);
    await write("\n");
  };
  const files = new Map<string, string>();
  const pathFor = (n: number) => `src/${WORDS[n % 32]}/${WORDS[(n >> 5) % WORDS.length]}-${n}.ts`;
  let fileCount = 0;
  const epoch = 1_700_000_000;
  for (let c = 0; c < shape.commits; c++) {
    const changes: string[] = [];
    if (c === 0) {
      for (; fileCount < shape.initialFiles; fileCount++) changes.push(pathFor(fileCount));
      for (const p of changes) files.set(p, sourceFile(rnd, 60 + rnd.below(200)));
    } else {
      // A new file now and then, and small edits to a few existing ones.
      if (rnd.below(10) < 7) {
        const p = pathFor(fileCount++);
        files.set(p, sourceFile(rnd, 50 + rnd.below(110)));
        changes.push(p);
      }
      for (let i = 0, n = 1 + rnd.below(3); i < n; i++) {
        const p = pathFor(rnd.below(fileCount));
        files.set(p, edit(rnd, files.get(p) ?? ""));
        changes.push(p);
      }
    }
    const when = `${epoch + c * 3600} +0900`;
    await write(`commit refs/heads/main\nmark :${c + 1}\n`);
    await write(`author Tokyo SI <dev@tokyo-si.example> ${when}\ncommitter Tokyo SI <dev@tokyo-si.example> ${when}\n`);
    await data(`Change ${c}: ${WORDS[rnd.below(WORDS.length)]} ${WORDS[rnd.below(WORDS.length)]}\n`);
    if (c > 0) await write(`from :${c}\n`);
    for (const p of new Set(changes)) {
      await write(`M 100644 inline ${p}\n`);
      await data(files.get(p) ?? "");
    }
    await write("\n");
  }
  // Tags spread over the history, every third one annotated.
  for (let i = 0; i < shape.tags; i++) {
    const mark = 1 + Math.floor(((i + 1) * (shape.commits - 1)) / shape.tags);
    if (i % 3 === 0) {
      await write(`tag v${Math.floor(i / 100)}.${i % 100}.0\nfrom :${mark}\n`);
      await write(`tagger Tokyo SI <dev@tokyo-si.example> ${epoch + mark * 3600} +0900\n`);
      await data(`Release ${i}\n`);
    } else {
      await write(`reset refs/tags/v${Math.floor(i / 100)}.${i % 100}.0\nfrom :${mark}\n\n`);
    }
  }
  await write("done\n");
  await flush();
  child.stdin.end();
  await done;
}
