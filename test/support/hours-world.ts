// A tenant with a 準委任 and a 請負 contract, their lead and contractor, and vetted engineers ready to be
// assigned: the world the hours, delivery and notification tests start from.
import { randomUUID } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Kysely } from "kysely";
import { expect } from "vitest";
import type { Database } from "../../src/db/schema.ts";
import type { PackageState } from "../../src/domain/packages/lifecycle.ts";
import { system } from "../../src/kernel/actor.ts";
import type { TestDialect } from "./databases.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./harness.ts";
import { SAMPLE_WBS_ROWS, utf8Csv } from "./wbs-files.ts";

const SKILLS = ["java", "spring", "oracle", "sql", "業務分析", "テスト設計"];

/** The 準委任 band the tests settle against: 140–180 h for 800,000 yen, +5,000/h above, −6,000/h below. */
export const BAND = { monthlyFeeYen: 800_000, minHours: 140, maxHours: 180, overRateYen: 5_000, underRateYen: 6_000 };

export interface HoursWorld {
  t: TestAzusa;
  operator: Client;
  contractor: Client;
  lead: Client;
  otherLead: Client;
  tenantName: string;
  engineers: Record<string, { id: string; client: Client }>;
  /** 準委任, hours rounded to the nearest 15 minutes. */
  juninin: { id: string; packages: Record<string, string> };
  /** 請負, payment 60 days after delivery (the default). */
  ukeoi: { id: string; packages: Record<string, string> };
  /** Opens the package, offers it to the engineer, who accepts; returns the assignment id. */
  assign(packageId: string, engineer: string): Promise<string>;
  /** Moves a package along by Azusa's own hand (the first session, a pull request). */
  move(packageId: string, ...states: PackageState[]): Promise<void>;
  stop(): Promise<void>;
}

/** Starts Azusa with the world above; workspaces name an image that is never built, so no container starts. */
export async function startHoursWorld(dialect: TestDialect, env: Record<string, string> = {}): Promise<HoursWorld> {
  const templatesDir = mkdtempSync(join(tmpdir(), "azusa-templates-"));
  writeFileSync(
    join(templatesDir, "default.devcontainer.json"),
    JSON.stringify({ image: "azusa-test/not-built:1", remoteUser: "azusa" }),
  );
  const t = await startTestAzusa({
    dialect,
    // The tests' webhook receivers listen on loopback.
    env: { AZUSA_SCHEDULES: "off", AZUSA_TEMPLATES_DIR: templatesDir, AZUSA_WEBHOOK_LOOPBACK: "on", ...env },
  });
  const tenantName = "東京システムインテグレーション株式会社";
  const tenant = await t.createTenant(tenantName);
  await t.createUser("contractor", "buyer@tokyo-si.example", tenant.id);
  const leadId = (await t.createUser("lead", "lead@tokyo-si.example", tenant.id)).id;
  const otherLeadId = (await t.createUser("lead", "other-lead@tokyo-si.example", tenant.id)).id;
  const operator = await t.signIn("root@office.example");
  const contractor = await t.signIn("buyer@tokyo-si.example");
  const lead = await t.signIn("lead@tokyo-si.example");
  const otherLead = await t.signIn("other-lead@tokyo-si.example");

  const engineers: HoursWorld["engineers"] = {};
  for (const name of ["sato", "ito", "kato"]) {
    const email = `${name}@matsumoto.example`;
    const { id } = await t.createUser("engineer", email);
    const profile = await operator.put(`/api/v1/engineers/${id}`, {
      weeklyCapacityHours: 60,
      timeZone: "Asia/Tokyo",
      invoiceNumber: "T1234567890123",
      skills: SKILLS.map((skill) => ({ skill, level: 7 })),
    });
    expect(profile.status).toBe(200);
    await operator.post(`/api/v1/engineers/${id}/vetting`, {
      kind: "nda",
      issuedOn: "2026-01-01",
      expiresOn: "2028-12-31",
    });
    engineers[name] = { id, client: await t.signIn(email) };
  }

  const contract = async (body: Record<string, unknown>, leads: string[], reader = lead) => {
    const res = await contractor.post("/api/v1/contracts", {
      client: "株式会社信州銀行",
      confidentiality: "internal",
      periodStart: "2026-04-01",
      periodEnd: "2027-12-31",
      leadIds: leads,
      ...body,
    });
    expect(res.status).toBe(201);
    const id = (await res.json()).id as string;
    const imported = await contractor.request("POST", `/api/v1/contracts/${id}/wbs`, utf8Csv(SAMPLE_WBS_ROWS), {
      "content-type": "text/csv",
    });
    expect(imported.status).toBe(201);
    const items = (await (await reader.get(`/api/v1/contracts/${id}/packages`)).json()).items as {
      id: string;
      wbsId: string;
    }[];
    return { id, packages: Object.fromEntries(items.map((p) => [p.wbsId, p.id])) };
  };
  const juninin = await contract(
    { title: "勘定系保守（準委任）", type: "juninin", band: BAND, hoursRounding: "15min-nearest" },
    [leadId],
  );
  const ukeoi = await contract({ title: "販売管理システム刷新", type: "ukeoi", hourlyRateYen: 7_000 }, [leadId]);
  // A contract the other lead leads, so that leading one contract gives no say over another.
  await contract({ title: "別案件", type: "ukeoi" }, [otherLeadId], otherLead);

  return {
    t,
    operator,
    contractor,
    lead,
    otherLead,
    tenantName,
    engineers,
    juninin,
    ukeoi,
    async assign(packageId, engineer) {
      const who = engineers[engineer];
      if (!who) throw new Error(`no engineer ${engineer}`);
      expect((await lead.post(`/api/v1/packages/${packageId}/open`)).status).toBe(200);
      const offer = await lead.post(`/api/v1/packages/${packageId}/offers`, { engineerId: who.id });
      expect(offer.status).toBe(201);
      const accepted = await who.client.post(`/api/v1/offers/${(await offer.json()).id}/accept`);
      expect(accepted.status).toBe(200);
      await t.running.azusa.workspaces.drain();
      return (await accepted.json()).assignmentId as string;
    },
    async move(packageId, ...states) {
      for (const to of states) await t.running.azusa.packages.transition(system("test"), packageId, to);
      // Work reaches review through a pull request; delivery asks for it to be merged.
      if (states.at(-1) === "in_review") await mergedPullRequest(t.running.azusa.db.kysely, packageId);
    },
    stop: () => t.stop(),
  };
}

/** Records a merged pull request for a package, as the forge would after the lead's approval and merge. */
async function mergedPullRequest(db: Kysely<Database>, packageId: string): Promise<void> {
  const pkg = await db
    .selectFrom("work_package")
    .select("tenant_id")
    .where("id", "=", packageId)
    .executeTakeFirstOrThrow();
  const at = new Date().toISOString();
  const earlier = await db.selectFrom("pull_request").select("id").where("package_id", "=", packageId).execute();
  await db
    .insertInto("pull_request")
    .values({
      id: randomUUID(),
      package_id: packageId,
      tenant_id: pkg.tenant_id,
      number: earlier.length + 1,
      workspace_id: null,
      author_id: null,
      title: "レビュー対象の作業",
      description: "",
      source_branch: "work",
      target_branch: "main",
      head_sha: "0".repeat(40),
      state: "merged",
      merge_sha: "1".repeat(40),
      merged_by: null,
      merged_at: at,
      external_id: null,
      created_at: at,
      updated_at: at,
    })
    .execute();
}

/** The world the walks of every page start from: a 準委任 package assigned to sato, a 請負 one in progress by ito. */
export async function startWalkWorld(): Promise<HoursWorld> {
  const w = await startHoursWorld("sqlite");
  await w.assign(w.juninin.packages["2.1"] as string, "sato");
  const review = w.ukeoi.packages["2.1"] as string;
  await w.assign(review, "ito");
  await w.move(review, "in_progress");
  return w;
}

/** Who walks the pages, by role, each signing in with the tests' password. */
export const WALKERS: Record<string, string> = {
  operator: "root@office.example",
  contractor: "buyer@tokyo-si.example",
  lead: "lead@tokyo-si.example",
  engineer: "sato@matsumoto.example",
};
