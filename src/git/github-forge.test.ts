// The GitHub forge against recorded GitHub API responses (@octokit/fixtures format) replayed on loopback:
// the shared forge contract, with every recorded call made and its body as recorded.
import { fileURLToPath } from "node:url";
import { afterAll, expect, it } from "vitest";
import { loadFixtures, type Replay, startReplay } from "../../test/support/github-replay.ts";
import { forgeContract } from "./forge.contract.ts";
import { createGithubForge, githubClient } from "./github-forge.ts";

let replay: Replay | undefined;

forgeContract("GitHub", async () => {
  replay = await startReplay(
    loadFixtures(fileURLToPath(new URL("../../test/fixtures/github/forge-contract.json", import.meta.url))),
  );
  return {
    forge: createGithubForge({
      organization: "tokyo-si",
      octokit: githubClient("ghp_replayed", replay.baseUrl),
      webhook: { url: "https://azusa.example/webhooks/github/tenant-1", secret: "whsec-replayed" },
    }),
    tenantId: "tenant-1",
    packageId: "package-1",
    engineer: "sato-matsumoto",
  };
});

it("made every recorded call, each as recorded", () => {
  expect(replay?.unmatched).toEqual([]);
  expect(replay?.pending()).toEqual([]);
});

afterAll(() => replay?.close());
