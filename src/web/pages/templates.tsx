// Operator: the workspace templates Azusa loaded at start-up, read-only, with what each allows (network
// destinations, SSH features) and what it gets (image, user, resources, idle timeout, IDE port).
import { Hono } from "hono";
import type { Destination, WorkspaceTemplate } from "../../templates/templates.ts";
import { DataTable, Layout } from "../layout.tsx";
import { render, requireRole, type WebContext, type WebDeps, type WebEnv } from "../web-env.ts";

const destinations = (list: Destination[]) => list.map((d) => `${d.host}:${d.port}`).join(", ");

function Templates({ c, templates }: { c: WebContext; templates: WorkspaceTemplate[] }) {
  const t = c.get("t");
  const none = t("common.none");
  return (
    <Layout c={c} title={t("templates.title")}>
      <p class="hint">{t("templates.hint")}</p>
      <DataTable
        empty={t("templates.empty")}
        id="templates"
        count={templates.length}
        cols={[
          t("templates.name"),
          t("templates.image"),
          t("templates.user"),
          t("templates.resources"),
          t("templates.network"),
          t("templates.ssh"),
          { label: t("templates.idle"), num: true },
          { label: t("templates.idePort"), num: true },
        ]}
      >
        {templates.map((tpl) => {
          const ssh = tpl.azusa.ssh;
          const features = [
            ssh.fileTransfer ? t("templates.fileTransfer") : null,
            ssh.git ? "Git" : null,
            ssh.portForwarding.length > 0
              ? `${t("templates.portForwarding")} (${destinations(ssh.portForwarding)})`
              : null,
            ssh.remoteForwarding.length > 0
              ? `${t("templates.remoteForwarding")} (${ssh.remoteForwarding.join(", ")})`
              : null,
            ssh.agentForwarding ? t("templates.agentForwarding") : null,
            ssh.x11 ? "X11" : null,
          ].filter((f) => f !== null);
          return (
            <tr>
              <td>
                <code>{tpl.name}</code>
              </td>
              <td>
                <code>{tpl.image}</code>
              </td>
              <td>{tpl.remoteUser}</td>
              <td>
                {t("templates.resourcesValue", {
                  cpus: tpl.azusa.resources.cpus,
                  memory: tpl.azusa.resources.memoryMiB,
                  pids: tpl.azusa.resources.pids,
                })}
              </td>
              <td>
                {tpl.azusa.network.allow
                  .map((d) => `${d.host}:${d.port}${d.privateNetwork ? ` (${t("templates.privateNetwork")})` : ""}`)
                  .join(", ") || none}
              </td>
              <td>{features.join(", ") || none}</td>
              <td class="num">{t("templates.minutes", { minutes: tpl.azusa.idleTimeoutMinutes })}</td>
              <td class="num">{tpl.azusa.idePort ?? none}</td>
            </tr>
          );
        })}
      </DataTable>
    </Layout>
  );
}

/** The operator's read-only list of workspace templates. */
export function templatePages(deps: WebDeps) {
  return new Hono<WebEnv>().get("/templates", async (c) => {
    requireRole(c, "operator");
    const templates = [...(await deps.workspaces.templates()).values()].sort((a, b) => a.name.localeCompare(b.name));
    return render(c, <Templates c={c} templates={templates} />);
  });
}
