// The web IDE's files: listed, read, saved and searched through the Docker API (the driver's exec of
// plain POSIX shell), never through a server inside the workspace, and never outside its folder.
import { posix } from "node:path";
import type { Writable } from "node:stream";
import type { Actor } from "../../kernel/actor.ts";
import { AppError, fail, invalidField, notFound } from "../../kernel/errors.ts";
import { msg } from "../../kernel/messages.ts";
import type { WorkspaceDriver } from "../../provisioner/driver.ts";
import type { AuditService } from "../audit/audit.service.ts";
import type { SessionAccess, Target } from "../sessions/access.ts";
import type { WorkspaceService } from "./workspaces.service.ts";

/** The largest file the editor opens or saves. */
export const MAX_FILE_BYTES = 1024 * 1024;
/** At most this many search hits are shown. */
const MAX_HITS = 200;

/** One entry of a folder listing. */
export interface FileEntry {
  name: string;
  /** Relative to the workspace folder, with "/" separators. */
  path: string;
  kind: "dir" | "file" | "link";
}

/** One line that matched a search. */
export interface SearchHit {
  path: string;
  line: number;
  text: string;
}

/** A workspace the engineer may reach now, and its folder. */
export interface FileScope {
  target: Target;
  folder: string;
  engineerId: string;
}

// Each script gets the workspace folder as $1 and a folder inside it as $2; `pwd -P` resolves symbolic
// links with the shell alone, so the check holds on any image, busybox included.
const inside = `root=$(cd -- "$1" && pwd -P) || exit 3
real=$(cd -- "$2" 2>/dev/null && pwd -P) || { echo "no such folder" >&2; exit 5; }
case "$real/" in "$root"/*) ;; *) echo "outside the workspace folder" >&2; exit 4;; esac
`;
const scripts = {
  list: `${inside}cd -- "$real" || exit 5
for e in * .[!.]* ..?*; do
  [ -e "$e" ] || [ -L "$e" ] || continue
  if [ -L "$e" ]; then k=link; elif [ -d "$e" ]; then k=dir; else k=file; fi
  printf '%s\\t%s\\n' "$k" "$e"
done`,
  read: `${inside}f="$real/$3"
[ -L "$f" ] && { echo "a symbolic link" >&2; exit 4; }
[ -f "$f" ] || { echo "no such file" >&2; exit 5; }
[ "$(stat -c %s -- "$f")" -le ${MAX_FILE_BYTES} ] || { echo "too large" >&2; exit 6; }
exec cat -- "$f"`,
  save: `${inside}f="$real/$3"
[ -L "$f" ] && { echo "a symbolic link" >&2; exit 4; }
[ -d "$f" ] && { echo "a folder" >&2; exit 4; }
[ "$4" = new ] && [ -e "$f" ] && { echo "already exists" >&2; exit 4; }
cat > "$f"`,
  search: `${inside}cd -- "$root" || exit 5
command -v grep >/dev/null || { echo "this workspace has no grep" >&2; exit 7; }
grep -rnIF --exclude-dir=.git -e "$3" . 2>/dev/null | head -n ${MAX_HITS}`,
};

export interface WorkspaceFilesOptions {
  /** The access decision every way into a workspace passes, asked before every call. */
  access: SessionAccess;
  driver: WorkspaceDriver;
  workspaces: WorkspaceService;
  audit: AuditService;
}

/** Files of a workspace for its engineer; every call passes the sessions' access check first. */
export function createWorkspaceFiles({ access, driver, workspaces, audit }: WorkspaceFilesOptions) {
  /**
   * A path the engineer gave, relative to the folder (or absolute inside it), as the folder it is in and
   * its last name. `..` is refused outright, whatever it would resolve to.
   */
  function place(folder: string, given: string, field: string): { dir: string; name: string; rel: string } {
    if (given.includes("\0")) throw invalidField(field, msg("files.nul"));
    if (given.split("/").includes("..")) throw invalidField(field, msg("files.dotDot"));
    const abs = posix.normalize(given.startsWith("/") ? given : posix.join(folder, given)).replace(/\/+$/, "");
    if (abs !== folder && !abs.startsWith(`${folder}/`)) {
      throw invalidField(field, msg("files.outside", { folder }));
    }
    const rel = abs === folder ? "" : abs.slice(folder.length + 1);
    return { dir: posix.dirname(abs), name: posix.basename(abs), rel };
  }

  /** Runs a script in the workspace (starting it when it is stopped); refusals become errors. */
  async function run(scope: FileScope, script: string, args: string[], input?: Buffer) {
    const request = { cmd: ["/bin/sh", "-c", script, "sh", scope.folder, ...args], tty: false, workingDir: "/" };
    let exec: Awaited<ReturnType<WorkspaceDriver["exec"]>>;
    try {
      exec = await driver.exec(scope.target.ref, request);
    } catch (err) {
      if (!(err instanceof AppError && err.code === "INVALID_STATE")) throw err;
      await workspaces.start({ kind: "system", name: "web ide" }, scope.target.workspace.id);
      exec = await driver.exec(scope.target.ref, request);
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    exec.stdout.on("data", (d: Buffer) => {
      size += d.length;
      if (size <= MAX_FILE_BYTES + 65536) out.push(d);
    });
    exec.stderr?.on("data", (d: Buffer) => err.push(d));
    const ended = new Promise<void>((resolve) => exec.stdout.once("end", () => resolve()));
    (exec.stdin as Writable).end(input ?? Buffer.alloc(0));
    const [status] = await Promise.all([exec.exit, ended]);
    return { code: status.code ?? 255, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString().trim() };
  }

  /** Turns a script's refusal into the error the page shows, naming the field. */
  function refused(code: number, stderr: string, field: string): AppError {
    if (code === 4 || code === 6) return invalidField(field, msg("files.refused", { stderr: stderr || "refused" }));
    if (code === 5) return notFound(field);
    if (code === 7) return fail("UNAVAILABLE", msg("files.unavailable", { stderr }));
    return fail("INTERNAL", msg("files.answered", { code, stderr }));
  }

  return {
    /** The engineer's workspace of `packageId` if the one access check (as for SSH) lets them in now. */
    async scope(engineerId: string, packageId: string, source: string): Promise<FileScope> {
      const auth = await access.authorize({ engineerId, packageId, source, transport: "browser" });
      if (!auth.ok) {
        if (auth.code === "not_assigned") throw notFound("package");
        throw auth.code === "no_workspace"
          ? fail("INVALID_STATE", msg("files.notReady", { reason: auth.text }))
          : fail("FORBIDDEN", msg("files.noAccess", { reason: auth.text }));
      }
      const folder = posix.normalize(auth.target.template?.azusa.workspaceFolder ?? "/workspace").replace(/\/+$/, "");
      return { target: auth.target, folder, engineerId };
    },

    /** The entries of a folder (relative path, "" for the workspace folder), folders first. */
    async list(scope: FileScope, dir: string): Promise<FileEntry[]> {
      const at = place(scope.folder, dir || scope.folder, "dir");
      const full = at.rel ? `${scope.folder}/${at.rel}` : scope.folder;
      const r = await run(scope, scripts.list, [full]);
      if (r.code !== 0) throw refused(r.code, r.stderr, "dir");
      const order = { dir: 0, link: 1, file: 2 } as const;
      return r.stdout
        .toString()
        .split("\n")
        .filter(Boolean)
        .map((line) => {
          const [kind, ...rest] = line.split("\t");
          const name = rest.join("\t");
          return { name, path: at.rel ? `${at.rel}/${name}` : name, kind: kind as FileEntry["kind"] };
        })
        .sort((a, b) => order[a.kind] - order[b.kind] || a.name.localeCompare(b.name));
    },

    /** A file's content (at most MAX_FILE_BYTES). */
    async read(scope: FileScope, path: string): Promise<{ path: string; content: Buffer }> {
      const at = place(scope.folder, path, "path");
      if (!at.rel) throw invalidField("path", msg("files.folder"));
      const r = await run(scope, scripts.read, [at.dir, at.name]);
      if (r.code !== 0) throw refused(r.code, r.stderr, "path");
      return { path: at.rel, content: r.stdout };
    },

    /**
     * Writes a file (its folder must exist; with `create`, the file must not); audited with its path and
     * size, and counted as activity.
     */
    async save(
      actor: Actor,
      scope: FileScope,
      path: string,
      content: Buffer,
      { create = false }: { create?: boolean } = {},
    ): Promise<{ path: string; bytes: number }> {
      const at = place(scope.folder, path, "path");
      if (!at.rel) throw invalidField("path", msg("files.folder"));
      if (content.length > MAX_FILE_BYTES)
        throw invalidField("content", msg("files.tooLarge", { bytes: MAX_FILE_BYTES }));
      const r = await run(scope, scripts.save, [at.dir, at.name, create ? "new" : "replace"], content);
      if (r.code !== 0) throw refused(r.code, r.stderr, "path");
      const { workspace, tenantId } = scope.target;
      await audit.record(
        actor,
        "workspace.file_saved",
        `workspace:${workspace.id}`,
        { packageId: workspace.package_id, path: at.rel, bytes: content.length },
        { tenantId },
      );
      await workspaces.recordActivity(workspace.id, "web IDE save");
      return { path: at.rel, bytes: content.length };
    },

    /** Lines containing `text` (plain text, not a pattern) in the workspace's files, .git left out. */
    async search(scope: FileScope, text: string): Promise<SearchHit[]> {
      if (!text) throw invalidField("q", msg("issue.required"));
      if (text.length > 200) throw invalidField("q", msg("issue.longString", { n: 200 }));
      const r = await run(scope, scripts.search, [scope.folder, text]);
      if (r.code !== 0) throw refused(r.code, r.stderr, "q");
      return r.stdout
        .toString()
        .split("\n")
        .flatMap((line) => {
          const m = /^\.\/(.+?):(\d+):(.*)$/.exec(line);
          return m ? [{ path: m[1] as string, line: Number(m[2]), text: (m[3] as string).slice(0, 300) }] : [];
        });
    },
  };
}

export type WorkspaceFiles = ReturnType<typeof createWorkspaceFiles>;
