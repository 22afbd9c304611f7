// Offers wait on people: the engineer hears of an offer made or taken back, the lead of the answer. Each
// notice is read over HTTP by the person it is for, and nobody else gets it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dialects } from "./support/databases.ts";
import type { Client } from "./support/harness.ts";
import { type HoursWorld, startHoursWorld } from "./support/hours-world.ts";

interface Told {
  kind: string;
  title: string;
  body: string;
  subject: string;
}

describe.each(dialects)("notices of offers on %s", (dialect) => {
  let w: HoursWorld;
  beforeAll(async () => {
    w = await startHoursWorld(dialect);
  }, 180_000);
  afterAll(async () => {
    await w?.stop();
  });

  const told = async (c: Client, kind: string): Promise<Told[]> =>
    ((await (await c.get("/api/v1/notifications")).json()).items as Told[]).filter((n) => n.kind === kind);
  const offer = async (packageId: string, engineer: string) => {
    const res = await w.lead.post(`/api/v1/packages/${packageId}/offers`, { engineerId: w.engineers[engineer]?.id });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string };
  };

  it("tells the engineer of an offer, and the lead of a decline with its reason", async () => {
    const pkg = w.juninin.packages["2.1"] as string;
    const sato = w.engineers.sato?.client as Client;
    expect((await w.lead.post(`/api/v1/packages/${pkg}/open`)).status).toBe(200);
    const o = await offer(pkg, "sato");
    const [made, ...more] = await told(sato, "offer.created");
    expect(more).toEqual([]);
    expect(made).toMatchObject({ subject: `offer:${o.id}` });
    expect(made?.title).toContain("勘定系保守（準委任）");
    // The answer's deadline in Tokyo time, as people read it, not UTC.
    expect(made?.body).toMatch(/^回答期限: \d{4}-\d\d-\d\d \d\d:\d\d \(Asia\/Tokyo\)$/);
    expect(await told(w.engineers.ito?.client as Client, "offer.created")).toEqual([]);
    expect(await told(w.lead, "offer.created")).toEqual([]);

    expect((await sato.post(`/api/v1/offers/${o.id}/decline`, { reason: "他案件と重なるため" })).status).toBe(200);
    const [declined] = await told(w.lead, "offer.declined");
    expect(declined?.title).toMatch(/sato さんが .* のオファーを辞退しました/);
    expect(declined?.body).toBe("理由: 他案件と重なるため");
    expect(await told(w.otherLead, "offer.declined")).toEqual([]);
    expect(await told(sato, "offer.declined")).toEqual([]);
  });

  it("tells the lead of an acceptance, and the engineer when the assignment is taken back", async () => {
    const pkg = w.juninin.packages["2.1"] as string;
    const ito = w.engineers.ito?.client as Client;
    const o = await offer(pkg, "ito");
    expect((await ito.post(`/api/v1/offers/${o.id}/accept`)).status).toBe(200);
    await w.t.running.azusa.workspaces.drain();
    const [accepted] = await told(w.lead, "offer.accepted");
    expect(accepted?.title).toMatch(/ito さんが .* のオファーを受けました/);
    expect(await told(w.otherLead, "offer.accepted")).toEqual([]);

    expect((await w.lead.post(`/api/v1/packages/${pkg}/withdraw`, { reason: "体制変更" })).status).toBe(204);
    const [withdrawn] = await told(ito, "offer.withdrawn");
    expect(withdrawn).toMatchObject({ subject: `package:${pkg}`, body: "理由: 体制変更" });
    expect(await told(w.engineers.sato?.client as Client, "offer.withdrawn")).toEqual([]);
  });

  it("tells the engineer when a pending offer is withdrawn", async () => {
    const pkg = w.juninin.packages["2.2"] as string;
    const kato = w.engineers.kato?.client as Client;
    expect((await w.lead.post(`/api/v1/packages/${pkg}/open`)).status).toBe(200);
    await offer(pkg, "kato");
    expect((await w.lead.post(`/api/v1/packages/${pkg}/withdraw`, { reason: "要件見直し" })).status).toBe(204);
    const [withdrawn, ...more] = await told(kato, "offer.withdrawn");
    expect(more).toEqual([]);
    expect(withdrawn).toMatchObject({ subject: `package:${pkg}`, body: "理由: 要件見直し" });
  });
});
