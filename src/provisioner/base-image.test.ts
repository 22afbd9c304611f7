// The image keeper at start: a missing base image is built in the background, and workspaces wait for
// the build or fail with its reason. The builder here stands in for the 75-second debootstrap build.
import Docker from "dockerode";
import { describe, expect, it } from "vitest";
import { ensureTestImage } from "../../test/support/images.ts";
import { createLogger } from "../logger.ts";
import { createImageKeeper } from "./base-image.ts";

const docker = new Docker();
const logger = createLogger({ level: "silent" });
const missing = "azusa-test/never-built:1";

function deferred() {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("image keeper", () => {
  it("builds a missing image once, and a workspace waits until the build is done", async () => {
    const build = deferred();
    let builds = 0;
    const keeper = createImageKeeper({
      docker,
      logger,
      tag: missing,
      builder: () => {
        builds++;
        return build.promise;
      },
    });
    await keeper.ensure([missing, "other/image:1"]);
    await keeper.ensure([missing]);
    expect(builds).toBe(1);
    let ready = false;
    const waiting = keeper.ready(missing).then(() => {
      ready = true;
    });
    await Promise.resolve();
    expect(ready).toBe(false);
    build.resolve();
    await waiting;
    expect(ready).toBe(true);
  });

  it("a failed build fails the waiting workspace with the reason", async () => {
    const build = deferred();
    const keeper = createImageKeeper({ docker, logger, tag: missing, builder: () => build.promise });
    await keeper.ensure([missing]);
    build.reject(new Error("debootstrap: no mirror"));
    await expect(keeper.ready(missing)).rejects.toThrow(
      `the image ${missing} is missing and building it failed: debootstrap: no mirror`,
    );
  });

  it("builds nothing when the image exists, when no template needs it, or when building is off", async () => {
    let builds = 0;
    const builder = async () => {
      builds++;
    };
    await createImageKeeper({ docker, logger, tag: missing, builder }).ensure(["other/image:1"]);
    await createImageKeeper({ docker, logger, tag: missing, builder, build: false }).ensure([missing]);
    const busybox = await ensureTestImage(docker);
    await createImageKeeper({ docker, logger, tag: busybox, builder, recipe: async () => undefined }).ensure([busybox]);
    expect(builds).toBe(0);
  });

  it("rebuilds an image made from another recipe in the background, while workspaces go on using it", async () => {
    const build = deferred();
    let builds = 0;
    const busybox = await ensureTestImage(docker); // carries no io.azusa.image.recipe label: an older recipe
    const keeper = createImageKeeper({
      docker,
      logger,
      tag: busybox,
      recipe: async () => "bookworm minbase git,openssh-sftp-server v2",
      builder: () => {
        builds++;
        return build.promise;
      },
    });
    await keeper.ensure([busybox]);
    expect(builds).toBe(1);
    await keeper.ready(busybox); // resolves with the build still running
    build.resolve();
  });
});
