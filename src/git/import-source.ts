// Where a contract's source repository may come from: the tenant's own folder in the import folder
// (`$AZUSA_GIT_IMPORT_DIR/<tenant id>/`), nothing else. An operator puts a client's repository there; a
// contract names it. Another tenant's folder, a path leading out (`..`, a symlink), a network address
// or a path that does not exist is refused, and the refusal never says whether something exists outside.
import { execFile } from "node:child_process";
import { realpathSync, statSync } from "node:fs";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type AppError, invalidField } from "../kernel/errors.ts";
import { type MessageId, text } from "../kernel/messages.ts";

const FIELD = "sourceRepository";

/** A refusal naming `sourceRepository`. */
function refuse(key: MessageId): AppError {
  return invalidField(FIELD, text(key));
}

/** True when `path` is `base` or lies below it (both resolved). */
const within = (base: string, path: string) => {
  const rel = relative(base, path);
  // Only the component `..` leads out: a name such as `..client.git` lies inside.
  return rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
};

/**
 * The real path of a tenant's source repository, given as a name relative to the tenant's import folder
 * (`client.git`, `team/app.git`), an absolute path inside it, or a `file:///` URL of one. Throws a
 * VALIDATION error naming `sourceRepository` for anything else. Synchronous: only the file system is read.
 */
export function importSource(source: string, importDir: string | undefined, tenantId: string): string {
  if (!importDir) throw refuse("source.noImportDir");
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source) && !source.startsWith("file://")) {
    throw refuse("source.network");
  }
  if (/^[^/\s]+@[^/\s]+:/.test(source)) {
    throw refuse("source.network");
  }
  let path: string;
  try {
    path = source.startsWith("file://") ? fileURLToPath(source) : source;
  } catch {
    throw refuse("source.notFileUrl");
  }
  if (path.includes("\0")) throw refuse("source.notPath");
  const tenantDir = resolve(importDir, tenantId);
  const target = resolve(tenantDir, path);
  // Lexically first: a path outside the tenant's folder is refused without looking whether it exists.
  if (target === tenantDir || !within(tenantDir, target)) {
    throw refuse("source.outside");
  }
  let realTenant: string;
  try {
    realTenant = realpathSync(tenantDir);
  } catch {
    throw refuse("source.noTenantDir");
  }
  let real: string;
  try {
    real = realpathSync(target);
  } catch {
    throw refuse("source.noRepository");
  }
  if (real === realTenant || !within(realTenant, real)) {
    throw refuse("source.linkOutside");
  }
  if (!statSync(real).isDirectory()) throw refuse("source.notFolder");
  return real;
}

/**
 * importSource, and the path is a Git repository with at least one commit: what a contract is checked
 * with when it names a source, on create and on update.
 */
export async function checkImportSource(source: string, importDir: string | undefined, tenantId: string) {
  const real = importSource(source, importDir, tenantId);
  try {
    await promisify(execFile)(
      "git",
      ["--git-dir", resolveGitDir(real), "rev-parse", "--verify", "--quiet", "HEAD^{commit}"],
      {
        env: { ...process.env, GIT_TERMINAL_PROMPT: "0" },
      },
    );
  } catch {
    throw refuse("source.noCommit");
  }
  return real;
}

/** A bare repository is its own git dir; a working copy keeps it in `.git`. */
function resolveGitDir(path: string): string {
  try {
    if (statSync(resolve(path, ".git")).isDirectory()) return resolve(path, ".git");
  } catch {
    // bare
  }
  return path;
}
