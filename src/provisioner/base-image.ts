// The default workspace image, built here without a registry by infra/image/build-base.sh; at start
// Azusa builds it in the background when missing, and workspaces that need it wait for the build.
import { execFile, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type Docker from "dockerode";
import type { Logger } from "../logger.ts";

/** The image the default template names and the script builds. */
export const baseImageTag = "azusa/workspace-base:bookworm";

/** The build script in the repository. */
export const buildScript = fileURLToPath(new URL("../../infra/image/build-base.sh", import.meta.url));

/** Whether `image` is on the engine. */
export async function imageExists(docker: Pick<Docker, "getImage">, image: string): Promise<boolean> {
  try {
    await docker.getImage(image).inspect();
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw err;
  }
}

/** The label on a built image that names what it was built from (packages, user, version). */
export const recipeLabel = "io.azusa.image.recipe";

/** The recipe the build script puts on the image it builds now (`build-base.sh --recipe`). */
export function baseImageRecipe(script = buildScript): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("bash", [script, "--recipe"], (err, stdout) => (err ? reject(err) : resolve(String(stdout).trim())));
  });
}

/** The recipe label of `image`, null when it has none, undefined when the image is missing. */
export async function imageRecipe(docker: Pick<Docker, "getImage">, image: string): Promise<string | null | undefined> {
  try {
    return (await docker.getImage(image).inspect()).Config?.Labels?.[recipeLabel] ?? null;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw err;
  }
}

/**
 * Runs the build script for `tag`, handing each progress line to `progress`; rejects with the last
 * lines of its output when it fails.
 */
export function buildBaseImage(
  { tag = baseImageTag, script = buildScript, signal }: { tag?: string; script?: string; signal?: AbortSignal },
  progress: (line: string) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    // its own process group, so that stopping the build stops debootstrap and docker import with it
    const child = spawn("bash", [script, tag], { stdio: ["ignore", "pipe", "pipe"], detached: true });
    const stop = () => {
      if (child.pid && child.exitCode === null) process.kill(-child.pid, "SIGTERM");
    };
    signal?.addEventListener("abort", stop, { once: true });
    const tail: string[] = [];
    const onLine = (line: string) => {
      tail.push(line);
      if (tail.length > 5) tail.shift();
      progress(line);
    };
    createInterface({ input: child.stdout }).on("line", onLine);
    createInterface({ input: child.stderr }).on("line", onLine);
    child.on("error", reject);
    child.on("close", (code) => {
      signal?.removeEventListener("abort", stop);
      if (code === 0) resolve();
      else reject(new Error(`building ${tag} failed (exit ${code}): ${tail.join(" | ")}`));
    });
  });
}

/** Knows which images are being built, so that a workspace waits for its image instead of failing. */
export interface ImageKeeper {
  /** Resolves when `image` may be used; while a build of it runs, waits; rejects when that build failed. */
  ready(image: string): Promise<void>;
  /**
   * Starts building the base image in the background if `images` needs it and it is missing, or was built
   * from an older recipe (then workspaces keep using the old image until the new one is there).
   */
  ensure(images: string[]): Promise<void>;
  /** Stops a build in progress (at shutdown); workspaces waiting for it fail. */
  stop(): void;
}

/** An ImageKeeper that builds only the base image (`tag`), and only when `build` is on. */
export function createImageKeeper({
  docker,
  logger,
  build = true,
  tag = baseImageTag,
  builder = (progress: (line: string) => void, signal: AbortSignal) => buildBaseImage({ signal }, progress),
  recipe = () => baseImageRecipe(),
}: {
  docker: Pick<Docker, "getImage">;
  logger: Logger;
  build?: boolean;
  tag?: string;
  builder?: (progress: (line: string) => void, signal: AbortSignal) => Promise<void>;
  /** The recipe label the image must carry (default: the build script's); undefined: any image of `tag` will do. */
  recipe?: () => Promise<string | undefined>;
}): ImageKeeper {
  const builds = new Map<string, Promise<void>>();
  const abort = new AbortController();
  return {
    stop() {
      abort.abort();
    },
    async ready(image) {
      await builds.get(image);
    },
    async ensure(images) {
      if (!images.includes(tag) || builds.has(tag)) return;
      const [has, wanted] = await Promise.all([imageRecipe(docker, tag), recipe()]);
      if (has !== undefined) {
        if (wanted === undefined || has === wanted) return;
        if (!build) {
          logger.warn({ image: tag }, "the default workspace image is out of date; run `azusa image build`");
          return;
        }
        // the old image serves meanwhile: nobody waits for this build
        logger.info({ image: tag }, "rebuilding the out-of-date default workspace image in the background");
        builder((line) => logger.info({ image: tag, line }, "image build"), abort.signal).then(
          () => logger.info({ image: tag }, "workspace image rebuilt"),
          (err: Error) => logger.error({ image: tag, err: err.message }, "rebuilding the workspace image failed"),
        );
        return;
      }
      if (!build) {
        logger.warn({ image: tag }, "the default workspace image is missing; run `azusa image build`");
        return;
      }
      logger.info({ image: tag }, "building the default workspace image in the background");
      const started = Date.now();
      const work = builder((line) => logger.info({ image: tag, line }, "image build"), abort.signal)
        .then(() => logger.info({ image: tag, ms: Date.now() - started }, "workspace image built"))
        .catch((err: Error) => {
          logger.error({ image: tag, err: err.message }, "building the workspace image failed");
          // later workspaces get the reason; a later start tries again
          throw new Error(`the image ${tag} is missing and building it failed: ${err.message}`);
        });
      work.catch(() => undefined);
      builds.set(tag, work);
    },
  };
}
