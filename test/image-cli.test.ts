// `azusa image build`: what it says when the image is already there, and when it cannot build.
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
