// Which commands count as file transfer or Git over SSH, and what a restricted contract leaves.
import { describe, expect, it } from "vitest";
import { channelRefusal, transferOf } from "./transfer-policy.ts";

describe("transferOf", () => {
  it.each([
    ["scp -t /workspace/x", "file_transfer"],
    ["scp -r -f '/workspace/src'", "file_transfer"],
    ["sh -c '/usr/bin/scp -f x'", "file_transfer"],
    ["/usr/lib/openssh/sftp-server", "file_transfer"],
    ["exec rsync --server --sender -e.LsfxC . /workspace/", "file_transfer"],
    ["git-upload-pack '/workspace'", "git"],
    ["git receive-pack /workspace", "git"],
    ["cd / && git-upload-archive /workspace", "git"],
    ["make test", null],
    ["git status", null],
    ["cat README.md", null],
  ])("%s → %s", (command, expected) => {
    expect(transferOf(command)).toBe(expected);
  });
});

describe("channelRefusal", () => {
  const open = { fileTransfer: true, git: true, restricted: false };
  it("lets everything through a template that allows it, and a terminal through a restricted contract", () => {
    expect(channelRefusal(open, { kind: "exec", command: "scp -f x", pty: false })).toBeNull();
    expect(channelRefusal(open, { kind: "exec", pty: false, command: "x", subsystem: "sftp" })).toBeNull();
    expect(channelRefusal({ ...open, restricted: true }, { kind: "shell", pty: true })).toBeNull();
    expect(channelRefusal({ ...open, restricted: true }, { kind: "exec", command: "make", pty: true })).toBeNull();
  });

  it("refuses, under a restricted contract, every channel without a pty and every subsystem", () => {
    const restricted = { ...open, restricted: true };
    for (const request of [
      { kind: "shell" as const, pty: false },
      { kind: "exec" as const, command: "ls", pty: false },
      { kind: "exec" as const, command: "x", pty: true, subsystem: "sftp" },
    ]) {
      expect(channelRefusal(restricted, request)?.reason).toBe("restricted");
    }
  });

  it("refuses transfers by default, with the message the client prints", () => {
    const none = { fileTransfer: false, git: false, restricted: false };
    expect(channelRefusal(none, { kind: "exec", command: "scp -t x", pty: false })).toEqual({
      reason: "file_transfer",
      message: "file transfer is not allowed for this package",
    });
    expect(channelRefusal(none, { kind: "exec", command: "git-upload-pack /workspace", pty: false })?.reason).toBe(
      "git",
    );
    expect(channelRefusal(none, { kind: "shell", pty: false })).toBeNull();
  });
});
