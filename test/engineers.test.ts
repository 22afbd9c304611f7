// The roster over HTTP: profiles and vetting kept by operators, keys and capacity by the engineer.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dialects } from "./support/databases.ts";
import { type Client, startTestAzusa, type TestAzusa } from "./support/harness.ts";
import { sshKeygen } from "./support/ssh.ts";

describe.each(dialects)("engineers on %s", (dialect) => {
  let t: TestAzusa;
  let operator: Client;
  let sato: Client;
  let suzuki: Client;
  let contractor: Client;
  let satoId: string;
  let suzukiId: string;

  const profile = { weeklyCapacityHours: 32, invoiceNumber: "T1234567890123", skills: [{ skill: "Java", level: 4 }] };

  beforeAll(async () => {
    t = await startTestAzusa({ dialect });
    const tokyo = await t.createTenant("東京SI");
    satoId = (await t.createUser("engineer", "sato@matsumoto.example")).id;
    suzukiId = (await t.createUser("engineer", "suzuki@matsumoto.example")).id;
    await t.createUser("contractor", "buyer@tokyo-si.example", tokyo.id);
    operator = await t.signIn("root@office.example");
    sato = await t.signIn("sato@matsumoto.example");
    suzuki = await t.signIn("suzuki@matsumoto.example");
    contractor = await t.signIn("buyer@tokyo-si.example");
    for (const id of [satoId, suzukiId])
      expect((await operator.put(`/api/v1/engineers/${id}`, profile)).status).toBe(200);
  });
  afterAll(() => t?.stop());

  describe("profiles", () => {
    it("are kept by operators, skills lower-cased, and read by the engineer", async () => {
      const res = await sato.get(`/api/v1/engineers/${satoId}`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        name: "sato",
        weeklyCapacityHours: 32,
        committedWeeklyHours: 0,
        timeZone: "Asia/Tokyo",
        invoiceNumber: "T1234567890123",
        skills: [{ skill: "java", level: 4 }],
      });
    });

    it("refuse a bad invoice number, a skill level outside ITSS and an unknown time zone", async () => {
      const res = await operator.put(`/api/v1/engineers/${satoId}`, {
        ...profile,
        invoiceNumber: "1234567890123",
        timeZone: "Mars/Olympus",
        skills: [{ skill: "java", level: 8 }],
      });
      expect(res.status).toBe(400);
      expect((await res.json()).error.fields.map((f: { path: string }) => f.path).sort()).toEqual([
        "invoiceNumber",
        "skills.0.level",
        "timeZone",
      ]);
    });

    it("keep one entry per skill however it is typed", async () => {
      const res = await operator.put(`/api/v1/engineers/${suzukiId}`, {
        ...profile,
        skills: [
          { skill: "Java", level: 3 },
          { skill: "ｊａｖａ", level: 5 },
        ],
      });
      expect(res.status).toBe(200);
      expect((await res.json()).skills).toEqual([{ skill: "java", level: 5 }]);
    });

    it("are not for anyone else to read or write", async () => {
      expect((await suzuki.get(`/api/v1/engineers/${satoId}`)).status).toBe(404);
      expect((await contractor.get(`/api/v1/engineers/${satoId}`)).status).toBe(404);
      expect((await sato.put(`/api/v1/engineers/${satoId}`, profile)).status).toBe(403);
      expect((await sato.get("/api/v1/engineers")).status).toBe(403);
    });

    it("let the engineer set their own capacity, audited", async () => {
      const res = await sato.put(`/api/v1/engineers/${satoId}/capacity`, { weeklyCapacityHours: 24 });
      expect((await res.json()).weeklyCapacityHours).toBe(24);
      expect((await suzuki.put(`/api/v1/engineers/${satoId}/capacity`, { weeklyCapacityHours: 1 })).status).toBe(404);
      const audit = await (await operator.get("/api/v1/audit-events?limit=1")).json();
      expect(audit.items[0]).toMatchObject({ action: "engineer.capacity_changed", details: { from: 32, to: 24 } });
    });

    it("record vetting with its dates", async () => {
      const res = await operator.post(`/api/v1/engineers/${satoId}/vetting`, {
        kind: "nda",
        issuedOn: "2026-04-01",
        expiresOn: "2028-03-31",
      });
      expect(res.status).toBe(201);
      expect((await res.json()).vetting).toContainEqual(
        expect.objectContaining({ kind: "nda", expiresOn: "2028-03-31", expiredAt: null }),
      );
      const backwards = await operator.post(`/api/v1/engineers/${satoId}/vetting`, {
        kind: "nda",
        issuedOn: "2026-04-01",
        expiresOn: "2026-03-01",
      });
      expect(backwards.status).toBe(400);
      expect(
        (
          await sato.post(`/api/v1/engineers/${satoId}/vetting`, {
            kind: "nda",
            issuedOn: "2026-04-01",
            expiresOn: "2028-03-31",
          })
        ).status,
      ).toBe(403);
    });
  });

  describe("SSH keys", () => {
    it("accepts a real ed25519 key and shows the fingerprint ssh-keygen shows", async () => {
      const key = sshKeygen("ed25519", undefined, "sato@laptop");
      const res = await sato.post(`/api/v1/engineers/${satoId}/ssh-keys`, { publicKey: `${key.publicKey}\n` });
      expect(res.status).toBe(201);
      expect(await res.json()).toMatchObject({
        type: "ssh-ed25519",
        bits: 256,
        fingerprint: key.fingerprint,
        comment: "sato@laptop",
      });
    });

    it("accepts a real RSA-4096 key", async () => {
      const key = sshKeygen("rsa", 4096);
      const res = await sato.post(`/api/v1/engineers/${satoId}/ssh-keys`, { publicKey: key.publicKey });
      expect(res.status).toBe(201);
      expect(await res.json()).toMatchObject({ type: "ssh-rsa", bits: 4096, fingerprint: key.fingerprint });
    });

    it("refuses a real RSA-1024 key with a clear message", async () => {
      const res = await sato.post(`/api/v1/engineers/${satoId}/ssh-keys`, {
        publicKey: sshKeygen("rsa", 1024).publicKey,
      });
      expect(res.status).toBe(400);
      const { error } = await res.json();
      expect(error.fields).toEqual([
        { path: "publicKey", message: expect.stringMatching(/1024 bits is too short: at least 3072/) },
      ]);
    });

    it("refuses garbage", async () => {
      const res = await sato.post(`/api/v1/engineers/${satoId}/ssh-keys`, { publicKey: "ssh-ed25519 bm90IGEga2V5" });
      expect(res.status).toBe(400);
      expect((await res.json()).error.fields[0].path).toBe("publicKey");
    });

    it("refuses a key another engineer registered, and the same key twice", async () => {
      const key = sshKeygen("ed25519");
      expect((await sato.post(`/api/v1/engineers/${satoId}/ssh-keys`, { publicKey: key.publicKey })).status).toBe(201);
      const again = await sato.post(`/api/v1/engineers/${satoId}/ssh-keys`, { publicKey: key.publicKey });
      expect(again.status).toBe(409);
      const other = await suzuki.post(`/api/v1/engineers/${suzukiId}/ssh-keys`, { publicKey: key.publicKey });
      expect(other.status).toBe(409);
      expect((await other.json()).error.message).toContain("registered to another engineer");
    });

    it("lets only the engineer (or an operator) add and remove their keys, audited", async () => {
      const key = sshKeygen("ecdsa", 256);
      expect((await suzuki.post(`/api/v1/engineers/${satoId}/ssh-keys`, { publicKey: key.publicKey })).status).toBe(
        404,
      );
      const added = await (
        await sato.post(`/api/v1/engineers/${satoId}/ssh-keys`, { publicKey: key.publicKey })
      ).json();
      expect((await suzuki.delete(`/api/v1/engineers/${satoId}/ssh-keys/${added.id}`)).status).toBe(404);
      expect((await sato.delete(`/api/v1/engineers/${satoId}/ssh-keys/${added.id}`)).status).toBe(204);
      const audit = await (await operator.get("/api/v1/audit-events?limit=1")).json();
      expect(audit.items[0]).toMatchObject({
        action: "engineer.ssh_key_removed",
        details: { fingerprint: key.fingerprint },
      });
    });
  });
});
