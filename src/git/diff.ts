// Reads git's unified diff into files, hunks and lines with their numbers, the way a review page shows them.

export interface DiffLine {
  kind: "context" | "add" | "delete";
  text: string;
  /** Line number on the old side (context and deletions). */
  oldLine: number | null;
  /** Line number on the new side (context and additions); comments attach to these. */
  newLine: number | null;
}

export interface DiffHunk {
  header: string;
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  lines: DiffLine[];
}

export interface DiffFile {
  path: string;
  /** The path before a rename; equal to `path` otherwise. */
  oldPath: string;
  status: "added" | "deleted" | "modified" | "renamed";
  binary: boolean;
  additions: number;
  deletions: number;
  hunks: DiffHunk[];
}

export interface Diff {
  files: DiffFile[];
  stats: { files: number; additions: number; deletions: number };
}

const hunkHeader = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

/** Unquotes a path git printed in C style ("a/\303\251.txt"). */
function unquote(p: string): string {
  if (!p.startsWith('"')) return p;
  const body = p.slice(1, -1);
  const bytes: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const ch = body[i] as string;
    if (ch !== "\\") {
      bytes.push(...Buffer.from(ch));
      continue;
    }
    const next = body[++i] ?? "";
    if (/[0-7]/.test(next)) {
      bytes.push(Number.parseInt(body.slice(i, i + 3), 8));
      i += 2;
    } else bytes.push(({ n: 10, t: 9, '"': 34, "\\": 92 } as Record<string, number>)[next] ?? next.charCodeAt(0));
  }
  return Buffer.from(bytes).toString("utf8");
}

const stripPrefix = (p: string) => unquote(p).replace(/^[ab]\//, "");

/** Parses `git diff` output (with --no-color, without --color-moved). */
export function parseDiff(text: string): Diff {
  const files: DiffFile[] = [];
  let file: DiffFile | undefined;
  let hunk: DiffHunk | undefined;
  let oldNo = 0;
  let newNo = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("diff --git ")) {
      // The header's paths are ambiguous with spaces; the ---/+++ lines below override them when present.
      const m = /^diff --git a\/(.+) b\/(.+)$/.exec(line);
      const [oldPath, path] = [m?.[1] ?? "", m?.[2] ?? ""];
      file = { path, oldPath, status: "modified", binary: false, additions: 0, deletions: 0, hunks: [] };
      hunk = undefined;
      files.push(file);
      continue;
    }
    if (!file) continue;
    if (!hunk) {
      if (line.startsWith("--- ")) file.oldPath = line === "--- /dev/null" ? "" : stripPrefix(line.slice(4));
      else if (line.startsWith("+++ ")) file.path = line === "+++ /dev/null" ? "" : stripPrefix(line.slice(4));
      else if (line.startsWith("new file mode")) file.status = "added";
      else if (line.startsWith("deleted file mode")) file.status = "deleted";
      else if (line.startsWith("rename from ")) {
        file.status = "renamed";
        file.oldPath = unquote(line.slice(12));
      } else if (line.startsWith("rename to ")) file.path = unquote(line.slice(10));
      else if (line.startsWith("Binary files ")) {
        file.binary = true;
        const m = /^Binary files (.+) and (.+) differ$/.exec(line);
        if (m) {
          file.oldPath = m[1] === "/dev/null" ? "" : stripPrefix(m[1] ?? "");
          file.path = m[2] === "/dev/null" ? "" : stripPrefix(m[2] ?? "");
        }
      }
    }
    const h = hunkHeader.exec(line);
    if (h) {
      hunk = {
        header: line,
        oldStart: Number(h[1]),
        oldLines: h[2] === undefined ? 1 : Number(h[2]),
        newStart: Number(h[3]),
        newLines: h[4] === undefined ? 1 : Number(h[4]),
        lines: [],
      };
      oldNo = hunk.oldStart;
      newNo = hunk.newStart;
      file.hunks.push(hunk);
      continue;
    }
    if (!hunk) continue;
    const mark = line[0];
    const body = line.slice(1);
    if (mark === "+") {
      hunk.lines.push({ kind: "add", text: body, oldLine: null, newLine: newNo++ });
      file.additions++;
    } else if (mark === "-") {
      hunk.lines.push({ kind: "delete", text: body, oldLine: oldNo++, newLine: null });
      file.deletions++;
    } else if (mark === " ") {
      hunk.lines.push({ kind: "context", text: body, oldLine: oldNo++, newLine: newNo++ });
    }
    // "\ No newline at end of file" and the trailing empty line carry no content.
  }
  for (const f of files) {
    if (f.status === "deleted") f.path = f.oldPath;
    if (f.status === "added") f.oldPath = f.path;
    if (!f.oldPath) f.oldPath = f.path;
    if (!f.path) f.path = f.oldPath;
  }
  return {
    files,
    stats: {
      files: files.length,
      additions: files.reduce((n, f) => n + f.additions, 0),
      deletions: files.reduce((n, f) => n + f.deletions, 0),
    },
  };
}
