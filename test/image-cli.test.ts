// `azusa image build`: what it says when the image is already there, and when it cannot build.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { describe, expect, it } from "vitest";
import { runCli } from "./support/cli.ts";
import { ensureTestImage } from "./support/images.ts";

describe("azusa image build", () => {
  it("says the image is already built and leaves it alone", async () => {
    const tag = await ensureTestImage(new Docker());
    const before = (await new Docker().getImage(tag).inspect()).Id;
    const res = await runCli(["image", "build", "--tag", tag], {});
    expect(res).toMatchObject({ code: 0, stdout: `${tag} is already built; --force builds it again\n` });
    expect((await new Docker().getImage(tag).inspect()).Id).toBe(before);
  });

  it("refuses with the reason when the Docker engine does not answer", async () => {
    const res = await runCli(["image", "build"], { DOCKER_HOST: "unix:///nonexistent/docker.sock" });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^azusa: the Docker engine is not reachable \(.*\); start dockerd first\n$/);
  });
});

describe("the base image's Debian mirror", () => {
  /** Runs build-base.sh's host_mirror with its apt folder moved to `etc`. */
  function hostMirror(etc: string): string {
    const script = readFileSync(join(import.meta.dirname, "..", "infra", "image", "build-base.sh"), "utf8");
    const fn = /^host_mirror\(\) \{[\s\S]*?^\}$/m.exec(script)?.[0] ?? "";
    expect(fn).not.toBe("");
    return execFileSync("bash", ["-c", `${fn.replaceAll("/etc/apt", etc)}\nhost_mirror`], { encoding: "utf8" }).trim();
  }

  it("is the host's own apt mirror when AZUSA_DEBIAN_MIRROR is unset, security archives left out", () => {
    const etc = mkdtempSync(join(tmpdir(), "azusa-apt-"));
    mkdirSync(join(etc, "sources.list.d"));
    writeFileSync(
      join(etc, "sources.list.d", "debian.sources"),
      "Types: deb\nURIs: http://debian-security.mirror.example.com/debian-security\nSuites: bookworm-security\n\n" +
        "Types: deb\nURIs: http://mirror.example.com/debian\nSuites: bookworm\nComponents: main\n",
    );
    expect(hostMirror(etc)).toBe("http://mirror.example.com/debian");
    // One-line sources, as older hosts have them.
    rmSync(join(etc, "sources.list.d", "debian.sources"));
    writeFileSync(join(etc, "sources.list"), "# local\ndeb [arch=amd64] http://ftp.example.jp/debian bookworm main\n");
    expect(hostMirror(etc)).toBe("http://ftp.example.jp/debian");
    // No sources at all: Debian's own redirector.
    rmSync(join(etc, "sources.list"));
    expect(hostMirror(etc)).toBe("http://deb.debian.org/debian");
  });
});
