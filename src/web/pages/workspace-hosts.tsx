// Operator: the workspace hosts, each with its state, labels, capacity and load, and its health asked of the
// engine now (version, hardening); buttons drain, mark down or activate a host. Registering one is the API's.
import { Hono } from "hono";
import type { HostState, WorkspaceHostWithHealth } from "../../domain/workspace-hosts/workspace-hosts.service.ts";
import { knownHostReasons } from "../i18n/stored.ts";
import { CsrfField, DataTable, Layout, Notice } from "../layout.tsx";
import { render, requireRole, type WebContext, type WebDeps, type WebEnv } from "../web-env.ts";

const actions = { drain: "draining", down: "down", activate: "active" } as const satisfies Record<string, HostState>;
type Action = keyof typeof actions;
const isAction = (v: string): v is Action => v in actions;

/** Azusa's own reasons for a host's state, in the reader's language; an operator's own words as typed. */
function Reason({ c, reason }: { c: WebContext; reason: string }) {
  const key = Object.hasOwn(knownHostReasons, reason) ? knownHostReasons[reason] : undefined;
  return key ? <span>{c.get("t")(key)}</span> : <span translate="no">{reason}</span>;
}

function Hosts({ c, hosts, changed }: { c: WebContext; hosts: WorkspaceHostWithHealth[]; changed?: string }) {
  const t = c.get("t");
  return (
    <Layout c={c} title={t("hosts.title")}>
      {changed ? <Notice kind="ok">{t("hosts.changed", { name: changed })}</Notice> : null}
      <p>{t("hosts.intro")}</p>
      <DataTable
        id="workspace-hosts"
        empty={t("hosts.empty")}
        count={hosts.length}
        cols={[
          t("hosts.name"),
          t("common.state"),
          t("hosts.labels"),
          { label: t("hosts.load"), num: true },
          t("hosts.health"),
          t("hosts.hardening"),
          t("hosts.actions"),
        ]}
      >
        {hosts.map((h) => (
          <tr>
            <td>
              {h.name} <code>{h.address}</code>
            </td>
            <td>
              <span class={`badge${h.state === "active" ? " good" : ""}`}>{t(`hosts.state.${h.state}`)}</span>{" "}
              <Reason c={c} reason={h.stateReason} />
            </td>
            <td>
              {(["office", "tenant", "zone"] as const)
                .filter((k) => h.labels[k])
                .map((k) => `${k}=${h.labels[k]}`)
                .join(", ") || t("common.none")}
            </td>
            <td class="num">
              {h.workspaces} / {h.capacity.workspaces}
              {h.kind === "tls" ? (
                <p class="hint">{t(h.unlimitedVolumes ? "hosts.volumesUnlimited" : "hosts.volumesRefused")}</p>
              ) : null}
            </td>
            <td>
              {h.health.reachable ? (
                <span class="badge good">{t("hosts.reachable", { version: h.health.engineVersion ?? "?" })}</span>
              ) : (
                <span class="badge bad">
                  {t("hosts.unreachable")} <code>{h.health.error ?? ""}</code>
                </span>
              )}
            </td>
            <td>
              {h.health.hardening === null ? (
                t("common.none")
              ) : h.health.hardening.ok ? (
                <span class="badge good">{t("hosts.hardened", { count: h.health.hardening.inspected })}</span>
              ) : (
                <>
                  <span class="badge bad">{t("hosts.notHardened")}</span>
                  <ul>
                    {h.health.hardening.problems.map((p) => (
                      <li>
                        <code>{p}</code>
                      </li>
                    ))}
                  </ul>
                </>
              )}
            </td>
            <td>
              {(Object.keys(actions) as Action[])
                .filter((a) => actions[a] !== h.state)
                .map((a) => (
                  <form method="post" action={`/workspace-hosts/${h.id}/${a}`} class="inline">
                    <CsrfField c={c} />
                    <button type="submit">{t(`hosts.do.${a}`)}</button>
                  </form>
                ))}
            </td>
          </tr>
        ))}
      </DataTable>
    </Layout>
  );
}

/** The operator's page of workspace hosts. */
export function workspaceHostPages(deps: Pick<WebDeps, "workspaceHosts">) {
  return new Hono<WebEnv>()
    .get("/workspace-hosts", async (c) => {
      const user = requireRole(c, "operator");
      const changed = c.req.query("changed");
      return render(c, <Hosts c={c} hosts={await deps.workspaceHosts.list(user)} changed={changed} />);
    })
    .post("/workspace-hosts/:id/:action", async (c) => {
      const user = requireRole(c, "operator");
      const action = c.req.param("action");
      const id = c.req.param("id");
      if (!isAction(action)) return c.notFound();
      const host =
        action === "drain"
          ? await deps.workspaceHosts.drain(user, id)
          : action === "down"
            ? await deps.workspaceHosts.markDown(user, id)
            : await deps.workspaceHosts.activate(user, id);
      return c.redirect(`/workspace-hosts?changed=${encodeURIComponent(host.name)}`, 303);
    });
}
