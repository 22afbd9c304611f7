// The GitHub forge against hand-written GitHub API exchanges (@octokit/fixtures format) served on loopback: the
// shared forge contract, with every expected call made, its body as expected, and every request and response
// fitting GitHub's own OpenAPI description (test/support/github-openapi.ts).
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

it("made every call the stand-in expected, each as expected, and each fits GitHub's description", () => {
  expect(replay?.unmatched).toEqual([]);
  expect(replay?.pending()).toEqual([]);
  expect(replay?.offDescription).toEqual([]);
});

it("the stand-in names what GitHub's description would not say or take", async () => {
  const off = await startReplay([
    // A repository without most of what GitHub returns, and a status the operation never answers.
    { scope: "", method: "post", path: "/orgs/tokyo-si/repos", status: 201, response: { name: "azusa-x" } },
    { scope: "", method: "get", path: "/repos/tokyo-si/azusa-x", status: 418, response: {} },
  ]);
  try {
    expect(off.offDescription).toEqual(
      expect.arrayContaining([
        "POST /orgs/{org}/repos 201: response must have required property 'default_branch'",
        "GET /repos/{owner}/{repo}: GitHub does not answer 418",
      ]),
    );
    const before = off.offDescription.length;
    // A request with a field the operation does not take, a query it does not know, and a path GitHub lacks.
    await fetch(`${off.baseUrl}/orgs/tokyo-si/repos`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "azusa-x", private: "yes" }),
    });
    await fetch(`${off.baseUrl}/repos/tokyo-si/azusa-x/collaborators?colour=blue`);
    await fetch(`${off.baseUrl}/repos/tokyo-si/azusa-x/no-such-thing`);
    expect(off.offDescription.slice(before)).toEqual([
      "POST /orgs/{org}/repos: body/private must be boolean",
      "GET /repos/{owner}/{repo}/collaborators: query must NOT have additional properties",
      "GET /repos/tokyo-si/azusa-x/no-such-thing: no such path in GitHub's description",
    ]);
  } finally {
    await off.close();
  }
});

afterAll(() => replay?.close());
