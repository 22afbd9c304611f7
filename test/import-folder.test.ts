// A contract's source repository comes only from its tenant's own folder in the import folder: another
// tenant's repository, a path leading out, a network address or a path that does not exist is refused on
// create and on update, names `sourceRepository`, and saves nothing.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dialects } from "./support/databases.ts";
import { sampleContract } from "./support/fixtures.ts";
import { type ApiResponse, type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";

/** A repository with one commit at `dir`. */
function repository(dir: string): void {
  const git = (...args: string[]) => {
    const r = spawnSync("git", ["-c", "user.name=SI", "-c", "user.email=si@example.invalid", ...args]);
    if (r.status !== 0) throw new Error(`git ${args[0]}: ${r.stderr}`);
  };
  git("init", "-q", "-b", "main", dir);
  writeFileSync(join(dir, "client.ts"), "export const secret = 1;\n");
  git("-C", dir, "add", ".");
  git("-C", dir, "commit", "-q", "-m", "client code");
}

describe.each(dialects)("the import folder per tenant (%s)", (dialect) => {
  const dir = mkdtempSync(join(tmpdir(), "azusa-imports-"));
  const imports = join(dir, "imports");
  let t: TestAzusa;
  let tokyo: Client;
  let osaka: Client;
  let tokyoId: string;
  let osakaId: string;

  beforeAll(async () => {
    t = await startTestAzusa({ dialect, env: { AZUSA_GIT_IMPORT_DIR: imports } });
    tokyoId = (await t.createTenant("東京SI")).id;
    osakaId = (await t.createTenant("大阪SI")).id;
    await t.createUser("contractor", "buyer@tokyo-si.example", tokyoId);
    await t.createUser("contractor", "buyer@osaka-si.example", osakaId);
    tokyo = await t.signIn("buyer@tokyo-si.example");
    osaka = await t.signIn("buyer@osaka-si.example");
    repository(join(imports, tokyoId, "hanbai.git"));
    repository(join(imports, osakaId, "kaikei.git"));
    repository(join(dir, "elsewhere.git"));
    mkdirSync(join(imports, tokyoId, "not-a-repository"));
    symlinkSync(join(imports, osakaId, "kaikei.git"), join(imports, tokyoId, "kaikei.git"));
  });
  afterAll(async () => {
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const contractsOf = async (client: Client) => (await (await client.get("/api/v1/contracts")).json()).items.length;

  /** The refusal of `sourceRepository`, checked to name the field; its message. */
  const refusal = async (res: ApiResponse) => {
    expect(res.status).toBe(400);
    const { error } = await res.json();
    expect(error.code).toBe("VALIDATION");
    expect(error.fields.map((f: { path: string }) => f.path)).toEqual(["sourceRepository"]);
    return error.message as string;
  };

  it("accepts a repository in the tenant's own folder, by name, by path or as a file:/// URL", async () => {
    for (const source of [
      "hanbai.git",
      join(imports, tokyoId, "hanbai.git"),
      `file://${join(imports, tokyoId, "hanbai.git")}`,
    ]) {
      const res = await tokyo.post("/api/v1/contracts", { ...sampleContract, sourceRepository: source });
      expect(res.status).toBe(201);
      expect((await res.json()).sourceRepository).toBe(source);
    }
  });

  it("refuses another tenant's repository, paths leading out and paths that do not exist, saving nothing", async () => {
    const before = await contractsOf(tokyo);
    const outside = await refusal(
      await tokyo.post("/api/v1/contracts", {
        ...sampleContract,
        sourceRepository: join(imports, osakaId, "kaikei.git"),
      }),
    );
    expect(outside).toMatch(/inside the tenant's import folder/);
    // Outside its folder, a tenant cannot tell whether a path exists.
    for (const source of [
      join(imports, osakaId, "no-such.git"),
      `file://${join(imports, osakaId, "kaikei.git")}`,
      `../${osakaId}/kaikei.git`,
      join(dir, "elsewhere.git"),
      "/etc",
    ]) {
      expect(
        await refusal(await tokyo.post("/api/v1/contracts", { ...sampleContract, sourceRepository: source })),
      ).toBe(outside);
    }
    const cases: [string, RegExp][] = [
      ["kaikei.git", /a link leads out/],
      ["missing.git", /no repository at this path/],
      ["not-a-repository", /not a Git repository/],
      ["https://example.invalid/client.git", /network addresses are never fetched/],
      ["git@example.invalid:client.git", /network addresses are never fetched/],
    ];
    for (const [source, message] of cases) {
      expect(
        await refusal(await tokyo.post("/api/v1/contracts", { ...sampleContract, sourceRepository: source })),
      ).toMatch(message);
    }
    expect(await contractsOf(tokyo)).toBe(before);
  });

  it("checks a changed source on update too, leaving the contract as it was", async () => {
    const contract = await (
      await osaka.post("/api/v1/contracts", { ...sampleContract, sourceRepository: "kaikei.git" })
    ).json();
    for (const source of [`../${tokyoId}/hanbai.git`, join(imports, tokyoId, "hanbai.git"), "gone.git"]) {
      await refusal(await osaka.request("PATCH", `/api/v1/contracts/${contract.id}`, { sourceRepository: source }));
    }
    expect((await (await osaka.get(`/api/v1/contracts/${contract.id}`)).json()).sourceRepository).toBe("kaikei.git");
    const cleared = await osaka.request("PATCH", `/api/v1/contracts/${contract.id}`, { sourceRepository: null });
    expect(cleared.status).toBe(200);
    expect((await cleared.json()).sourceRepository).toBeNull();
  });
});
