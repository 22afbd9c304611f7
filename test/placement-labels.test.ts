// A template that asks for host labels (customizations.azusa.hostLabels) is placed only on a host carrying them,
// and waits with the reason when none does. The labelled host is the local engine again, through its socket.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseTemplate } from "../src/templates/templates.ts";
import { startTestAzusa, type TestAzusa } from "./support/harness.ts";

const needs = { tenantId: "any", restricted: false, egress: false };

describe("placement by a template's host labels", () => {
  let t: TestAzusa;
  let hostId: string;

  beforeAll(async () => {
    t = await startTestAzusa({ env: { AZUSA_SCHEDULES: "off" } });
    const operator = await t.signIn("root@office.example");
    const res = await operator.post("/api/v1/workspace-hosts", {
      name: "nagano",
      endpoint: { kind: "socket", path: "/var/run/docker.sock" },
      labels: { office: "matsumoto", zone: "nagano-1" },
      capacity: { cpus: 2, memoryMiB: 4096, diskMiB: 20480, workspaces: 4 },
    });
    expect(res.status, await res.clone().text()).toBe(201);
    hostId = (await res.json()).id;
  });

  afterAll(async () => {
    await t?.stop();
  });

  it("reads the labels a template asks for, and refuses a label that is not one", () => {
    const parsed = (hostLabels: unknown) =>
      parseTemplate("x", JSON.stringify({ image: "busybox:1", customizations: { azusa: { hostLabels } } }));
    const good = parsed({ zone: "nagano-1" });
    expect(good.ok && good.template.azusa.hostLabels).toEqual({ zone: "nagano-1" });
    const none = parseTemplate("x", JSON.stringify({ image: "busybox:1" }));
    expect(none.ok && none.template.azusa.hostLabels).toEqual({});
    expect(parsed({ zone: "a b" }).ok).toBe(false);
    expect(parsed({ tenant: "t1" }).ok).toBe(false);
  });

  it("marks a template that states its volume's size as needing that limit", () => {
    const sized = parseTemplate(
      "x",
      JSON.stringify({ image: "busybox:1", customizations: { azusa: { resources: { diskMiB: 2048 } } } }),
    );
    expect(sized.ok && sized.template.azusa).toMatchObject({ diskLimitRequired: true, resources: { diskMiB: 2048 } });
    const plain = parseTemplate("x", JSON.stringify({ image: "busybox:1" }));
    expect(plain.ok && plain.template.azusa.diskLimitRequired).toBe(false);
  });

  it("places on the host with the labels asked for, over a less loaded one without them", async () => {
    const hosts = t.running.azusa.workspaceHosts;
    expect(await hosts.place({ ...needs, labels: { zone: "nagano-1" } }, async () => {})).toEqual({ hostId });
    expect(await hosts.place({ ...needs, labels: { office: "matsumoto", zone: "nagano-1" } }, async () => {})).toEqual({
      hostId,
    });
    // with none asked both fit, and at equal load (none placed) the first by name wins
    expect(await hosts.place(needs, async () => {})).toEqual({ hostId: "local" });
  });

  it("waits, saying which label no host carries", async () => {
    const placed = await t.running.azusa.workspaceHosts.place(
      { ...needs, labels: { zone: "tokyo-2" } },
      async () => {},
    );
    expect(placed).toEqual({
      pending:
        "waiting for a workspace host that fits (local: not labelled zone=tokyo-2; nagano: not labelled zone=tokyo-2)",
    });
  });
});
