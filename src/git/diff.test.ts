// The diff reader against output of the real git: additions, deletions, renames and binary files.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleGit } from "simple-git";
import { afterAll, describe, expect, it } from "vitest";
import { parseDiff } from "./diff.ts";

describe("parseDiff", () => {
  const dir = mkdtempSync(join(tmpdir(), "azusa-diff-"));
  const git = simpleGit({ baseDir: dir, config: ["user.name=t", "user.email=t@example.com"] });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads files, hunks, line numbers and totals from git's own output", async () => {
    await git.raw(["init", "-q", "-b", "main"]);
    writeFileSync(join(dir, "a.txt"), "one\ntwo\nthree\n");
    writeFileSync(join(dir, "old name.txt"), "same\ncontent\nhere\n");
    writeFileSync(join(dir, "gone.txt"), "bye\n");
    await git.raw(["add", "-A"]);
    await git.raw(["commit", "-q", "-m", "base"]);
    writeFileSync(join(dir, "a.txt"), "one\n2\nthree\nfour\n");
    await git.raw(["mv", "old name.txt", "new name.txt"]);
    await git.raw(["rm", "-q", "gone.txt"]);
    writeFileSync(join(dir, "image.bin"), Buffer.from([0, 1, 2, 0, 255]));
    writeFileSync(join(dir, "日本語.md"), "こんにちは\n");
    await git.raw(["add", "-A"]);
    await git.raw(["commit", "-q", "-m", "change"]);

    const diff = parseDiff(await git.raw(["diff", "--no-color", "--find-renames", "HEAD~1", "HEAD"]));
    const byPath = Object.fromEntries(diff.files.map((f) => [f.path, f]));
    expect(Object.keys(byPath).sort()).toEqual(["a.txt", "gone.txt", "image.bin", "new name.txt", "日本語.md"]);
    expect(byPath["a.txt"]).toMatchObject({ status: "modified", additions: 2, deletions: 1 });
    expect(byPath["a.txt"]?.hunks[0]?.lines).toEqual([
      { kind: "context", text: "one", oldLine: 1, newLine: 1 },
      { kind: "delete", text: "two", oldLine: 2, newLine: null },
      { kind: "add", text: "2", oldLine: null, newLine: 2 },
      { kind: "context", text: "three", oldLine: 3, newLine: 3 },
      { kind: "add", text: "four", oldLine: null, newLine: 4 },
    ]);
    expect(byPath["new name.txt"]).toMatchObject({ status: "renamed", oldPath: "old name.txt", hunks: [] });
    expect(byPath["gone.txt"]).toMatchObject({ status: "deleted", deletions: 1 });
    expect(byPath["image.bin"]).toMatchObject({ status: "added", binary: true });
    expect(byPath["日本語.md"]).toMatchObject({ status: "added", additions: 1 });
    expect(diff.stats).toEqual({ files: 5, additions: 3, deletions: 2 });
  });
});
