// Operator: the roster of engineers with their vetting (and a form to record more), every workspace with
// its state and last activity (a stopped one moved to another host from there), and the audit log with the result of walking its hash chain.
import { Hono } from "hono";
import type { AuditEvent, VerifyResult } from "../../domain/audit/audit.service.ts";
import type { Engineer } from "../../domain/engineers/engineers.service.ts";
import { type VettingKind, vettingKinds } from "../../domain/matching/matching.ts";
import type { Unavailable, Workspace } from "../../domain/workspaces/workspaces.service.ts";
import { AppError } from "../../kernel/errors.ts";
import { text } from "../../kernel/messages.ts";
import { formatDateTime, hm } from "../i18n/i18n.ts";
import { activity, workspaceReason } from "../i18n/stored.ts";
import { CheckoutNote, CsrfField, DataTable, FieldErrors, Layout, Notice, UnavailableNote } from "../layout.tsx";
import {
  problemsOf,
  render,
  requireRole,
  sayError,
  sayText,
  type WebContext,
  type WebDeps,
  type WebEnv,
} from "../web-env.ts";

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const isVettingKind = (v: string): v is VettingKind => vettingKinds.includes(v as VettingKind);

function EngineerList({ c, engineers }: { c: WebContext; engineers: Engineer[] }) {
  const t = c.get("t");
  return (
    <Layout c={c} title={t("engineers.title")}>
      <DataTable
        empty={t("engineers.empty")}
        count={engineers.length}
        cols={[
          t("engineers.name"),
          t("engineers.email"),
          t("engineers.skills"),
          { label: t("engineers.capacity"), num: true },
          { label: t("engineers.committed"), num: true },
          t("engineers.vetting"),
        ]}
      >
        {engineers.map((e) => (
          <tr>
            <td>
              <a href={`/engineers/${e.id}`}>{e.name}</a>
            </td>
            <td>{e.email}</td>
            <td>{e.skills.map((s) => `${s.skill}:${s.level}`).join(", ") || t("common.none")}</td>
            <td class="num">{t("common.hoursPerWeek", { hours: hm(e.weeklyCapacityHours) })}</td>
            <td class="num">{t("common.hoursPerWeek", { hours: hm(e.committedWeeklyHours) })}</td>
            <td>
              {e.vetting
                .filter((v) => !v.expiredAt)
                .map((v) => (
                  <span class="badge good">{t(`vetting.kind.${v.kind}`)}</span>
                ))}
            </td>
          </tr>
        ))}
      </DataTable>
    </Layout>
  );
}

function EngineerDetail({
  c,
  engineer,
  notice,
  fields,
}: {
  c: WebContext;
  engineer: Engineer;
  notice?: string;
  fields?: { path: string; message: string }[];
}) {
  const t = c.get("t");
  return (
    <Layout c={c} title={engineer.name}>
      {notice ? <Notice kind="ok">{notice}</Notice> : null}
      {fields ? <FieldErrors c={c} fields={fields} /> : null}
      <section>
        <dl class="facts">
          <dt>{t("engineers.email")}</dt>
          <dd>{engineer.email}</dd>
          <dt>{t("engineers.capacity")}</dt>
          <dd>{t("common.hoursPerWeek", { hours: hm(engineer.weeklyCapacityHours) })}</dd>
          <dt>{t("engineers.committed")}</dt>
          <dd>{t("common.hoursPerWeek", { hours: hm(engineer.committedWeeklyHours) })}</dd>
          <dt>{t("engineers.timeZone")}</dt>
          <dd>{engineer.timeZone}</dd>
          <dt>{t("engineers.invoiceNumber")}</dt>
          <dd>{engineer.invoiceNumber ?? t("common.none")}</dd>
          <dt>{t("engineers.skills")}</dt>
          <dd>{engineer.skills.map((s) => `${s.skill}:${s.level}`).join(", ") || t("common.none")}</dd>
        </dl>
      </section>
      <h2 id="vetting">{t("vetting.title")}</h2>
      <DataTable
        empty={t("vetting.empty")}
        labelledBy="vetting"
        id="vetting-records"
        count={engineer.vetting.length}
        cols={[t("vetting.kind"), t("vetting.issuedOn"), t("vetting.expiresOn"), t("vetting.status")]}
      >
        {engineer.vetting.map((v) => (
          <tr>
            <td>{t(`vetting.kind.${v.kind}`)}</td>
            <td>{v.issuedOn}</td>
            <td>{v.expiresOn}</td>
            <td>
              {v.expiredAt ? (
                <span class="badge bad">{t("vetting.expired")}</span>
              ) : (
                <span class="badge good">{t("vetting.valid")}</span>
              )}
            </td>
          </tr>
        ))}
      </DataTable>
      <section aria-labelledby="add-vetting">
        <h2 id="add-vetting">{t("vetting.add")}</h2>
        <form method="post" action={`/engineers/${engineer.id}/vetting`} class="row">
          <CsrfField c={c} />
          <label>
            {t("vetting.kind")}
            <select name="kind" required>
              {vettingKinds.map((k) => (
                <option value={k}>{t(`vetting.kind.${k}`)}</option>
              ))}
            </select>
          </label>
          <label>
            {t("vetting.issuedOn")}
            <input type="date" name="issuedOn" required />
          </label>
          <label>
            {t("vetting.expiresOn")}
            <input type="date" name="expiresOn" required />
          </label>
          <button type="submit">{t("common.save")}</button>
        </form>
      </section>
    </Layout>
  );
}

type WorkspaceItem = Workspace & {
  wbsId: string;
  packageTitle: string;
  engineerName: string;
  unavailable: Unavailable | null;
};
type HostName = { id: string; name: string; state: string };

/** A stopped workspace's move: a host other than its own, and why. */
function MoveForm({ c, w, hosts }: { c: WebContext; w: WorkspaceItem; hosts: HostName[] }) {
  const t = c.get("t");
  if (w.state !== "stopped") return <span class="hint">{t("workspaces.moveOnlyStopped")}</span>;
  const others = hosts.filter((h) => h.id !== w.hostId && h.state === "active");
  if (others.length === 0) return null;
  return (
    <form method="post" action={`/workspaces/${w.id}/move`} class="inline">
      <CsrfField c={c} />
      <label>
        {t("workspaces.moveTo")}
        <select name="hostId" required>
          {others.map((h) => (
            <option value={h.id}>{h.name}</option>
          ))}
        </select>
      </label>
      <label>
        {t("workspaces.moveReason")}
        <input name="reason" required maxlength={1000} />
      </label>
      <button type="submit">{t("workspaces.moveButton")}</button>
    </form>
  );
}

function Workspaces({
  c,
  items,
  hosts,
  notice,
  error,
}: {
  c: WebContext;
  items: WorkspaceItem[];
  hosts: HostName[];
  notice?: string | undefined;
  error?: string | undefined;
}) {
  const t = c.get("t");
  const lang = c.get("lang");
  const hostName = (id: string | null) => hosts.find((h) => h.id === id)?.name ?? id ?? "";
  return (
    <Layout c={c} title={t("workspaces.title")}>
      {notice ? <Notice kind="ok">{notice}</Notice> : null}
      {error ? <Notice kind="error">{error}</Notice> : null}
      <DataTable
        empty={t("workspaces.empty")}
        count={items.length}
        cols={[
          t("workspaces.package"),
          t("workspaces.engineer"),
          t("workspaces.template"),
          t("common.state"),
          t("workspaces.reason"),
          t("workspaces.lastActivity"),
          t("workspaces.move"),
        ]}
      >
        {items.map((w) => (
          <tr>
            <td>
              {w.wbsId} {w.packageTitle}
            </td>
            <td>{w.engineerName}</td>
            <td>{w.template}</td>
            <td>
              <span class="badge">{t(`ws.state.${w.state}`)}</span> <CheckoutNote c={c} workspace={w} />
              {w.hostId ? <span class="hint"> {hostName(w.hostId)}</span> : null}
            </td>
            <td>
              {workspaceReason(lang, w.reason)} <UnavailableNote c={c} unavailable={w.unavailable} />
            </td>
            <td>
              {w.lastActivityAt
                ? `${formatDateTime(lang, w.lastActivityAt)} ${activity(t, w.lastActivity)}`
                : t("workspaces.never")}
            </td>
            <td>
              <MoveForm c={c} w={w} hosts={hosts} />
            </td>
          </tr>
        ))}
      </DataTable>
    </Layout>
  );
}

const PAGE = 100;

function Audit({ c, events, chain }: { c: WebContext; events: AuditEvent[]; chain: VerifyResult }) {
  const t = c.get("t");
  const lang = c.get("lang");
  const last = events.at(-1);
  return (
    <Layout c={c} title={t("audit.title")}>
      {chain.ok ? (
        <Notice kind="ok">{t("audit.chainOk", { count: chain.checked })}</Notice>
      ) : (
        <Notice kind="error">
          {t("audit.chainBroken", { seq: chain.firstBad?.seq ?? "?", problem: chain.firstBad?.problem ?? "" })}
        </Notice>
      )}
      <DataTable
        empty={t("audit.empty")}
        id="audit-events"
        count={events.length}
        cols={[
          { label: t("audit.seq"), num: true },
          t("audit.at"),
          t("audit.actor"),
          t("audit.action"),
          t("audit.subject"),
          t("audit.details"),
        ]}
      >
        {events.map((e) => (
          <tr>
            <td class="num">{e.seq}</td>
            <td>{formatDateTime(lang, e.at)}</td>
            <td>{e.actorRole ?? ""}</td>
            <td>
              <code>{e.action}</code>
            </td>
            <td>{e.subject}</td>
            <td>
              <code>{JSON.stringify(e.details)}</code>
            </td>
          </tr>
        ))}
      </DataTable>
      {last && events.length === PAGE && last.seq > 1 ? (
        <p>
          <a href={`/audit?before=${last.seq}`}>{t("audit.older")}</a>
        </p>
      ) : null}
    </Layout>
  );
}

/** The operator's pages. */
export function operatorPages(deps: WebDeps) {
  return new Hono<WebEnv>()
    .get("/engineers", async (c) => {
      const user = requireRole(c, "operator");
      return render(c, <EngineerList c={c} engineers={await deps.engineers.list(user)} />);
    })
    .get("/engineers/:id", async (c) => {
      const user = requireRole(c, "operator");
      const notice = c.req.query("notice") === "vetting" ? c.get("t")("vetting.added") : undefined;
      return render(
        c,
        <EngineerDetail c={c} engineer={await deps.engineers.get(user, c.req.param("id"))} notice={notice} />,
      );
    })
    .post("/engineers/:id/vetting", async (c) => {
      const user = requireRole(c, "operator");
      const id = c.req.param("id");
      const t = c.get("t");
      const form = await c.req.parseBody();
      const kind = String(form.kind ?? "");
      const issuedOn = String(form.issuedOn ?? "");
      const expiresOn = String(form.expiresOn ?? "");
      const fields: { path: string; message: string }[] = [];
      if (!isVettingKind(kind)) fields.push({ path: t("vetting.kind"), message: t("common.required") });
      if (!DAY.test(issuedOn)) fields.push({ path: t("vetting.issuedOn"), message: t("common.required") });
      if (!DAY.test(expiresOn)) fields.push({ path: t("vetting.expiresOn"), message: t("common.required") });
      if (fields.length === 0) {
        try {
          await deps.engineers.addVetting(user, id, { kind: kind as VettingKind, issuedOn, expiresOn });
          return c.redirect(`/engineers/${id}?notice=vetting`, 303);
        } catch (err) {
          if (!(err instanceof AppError) || err.code !== "VALIDATION") throw err;
          fields.push(...problemsOf(c, err, "body"));
        }
      }
      const engineer = await deps.engineers.get(user, id);
      return render(c, <EngineerDetail c={c} engineer={engineer} fields={fields} />, 400);
    })
    .get("/workspaces", async (c) => {
      const user = requireRole(c, "operator");
      const [items, hosts] = await Promise.all([deps.workspaces.list(user), deps.workspaceHosts.names(user)]);
      const moved = items.find((w) => w.id === c.req.query("moved"));
      const notice = moved
        ? c.get("t")("workspaces.moved", {
            package: `${moved.wbsId} ${moved.packageTitle}`,
            host: hosts.find((h) => h.id === moved.hostId)?.name ?? "",
          })
        : undefined;
      return render(c, <Workspaces c={c} items={items} hosts={hosts} notice={notice} />);
    })
    .post("/workspaces/:id/move", async (c) => {
      const user = requireRole(c, "operator");
      const id = c.req.param("id");
      const t = c.get("t");
      const form = await c.req.parseBody();
      const hostId = String(form.hostId ?? "").trim();
      const reason = String(form.reason ?? "").trim();
      let error: string;
      let status: 400 | 404 | 409 = 400;
      if (!hostId) error = `${t("workspaces.moveTo")}: ${t("common.required")}`;
      else if (!reason) error = `${t("workspaces.moveReason")}: ${t("common.required")}`;
      else if (reason.length > 1000)
        error = `${t("workspaces.moveReason")}: ${sayText(c, text("issue.longString", { n: 1000 }))}`;
      else {
        try {
          await deps.workspaces.move(user, id, { hostId, reason });
          return c.redirect(`/workspaces?moved=${encodeURIComponent(id)}`, 303);
        } catch (err) {
          if (!(err instanceof AppError) || !["VALIDATION", "CONFLICT", "INVALID_STATE"].includes(err.code)) throw err;
          error = sayError(c, err);
          status = err.code === "VALIDATION" ? 400 : 409;
        }
      }
      const [items, hosts] = await Promise.all([deps.workspaces.list(user), deps.workspaceHosts.names(user)]);
      return render(
        c,
        <Workspaces c={c} items={items} hosts={hosts} error={t("workspaces.moveFailed", { message: error })} />,
        status,
      );
    })
    .get("/audit", async (c) => {
      requireRole(c, "operator");
      const before = Number(c.req.query("before"));
      const [events, chain] = await Promise.all([
        deps.audit.list({ limit: PAGE, beforeSeq: Number.isInteger(before) && before > 0 ? before : undefined }),
        deps.audit.verify(),
      ]);
      return render(c, <Audit c={c} events={events} chain={chain} />);
    });
}
