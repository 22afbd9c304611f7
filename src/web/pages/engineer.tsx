// Engineer: the offers waiting for an answer (accept, or decline with a reason) and the packages they hold,
// each with its workspace's state.
import { Hono } from "hono";
import type { OrderTerms } from "../../domain/delivery/order-document.ts";
import type { Offer } from "../../domain/offers/offers.service.ts";
import type { WorkPackage } from "../../domain/packages/packages.service.ts";
import type { WorkspaceWithServices } from "../../domain/workspaces/workspaces.service.ts";
import { formatDateTime, hm } from "../i18n/i18n.ts";
import { activity, workspaceReason } from "../i18n/stored.ts";
import {
  CheckoutNote,
  CsrfField,
  DataTable,
  FieldErrors,
  Layout,
  Notice,
  ServicesNote,
  UnavailableNote,
} from "../layout.tsx";
import {
  formText,
  heldPackages,
  orNull,
  render,
  requireRole,
  type SshAccess,
  type WebContext,
  type WebDeps,
  type WebEnv,
  type WebUser,
} from "../web-env.ts";
import { idePath } from "./ide.tsx";
import { terminalPath } from "./terminal.tsx";

const hours = hm;

function Offers({
  c,
  offers,
  notice,
  error,
}: {
  c: WebContext;
  offers: { offer: Offer; pkg: WorkPackage; terms: OrderTerms }[];
  notice?: string;
  error?: { offerId: string; fields: { path: string; message: string }[] };
}) {
  const t = c.get("t");
  const lang = c.get("lang");
  return (
    <Layout c={c} title={t("offers.title")}>
      {notice ? <Notice kind="ok">{notice}</Notice> : null}
      {error ? <FieldErrors c={c} fields={error.fields} /> : null}
      {offers.length === 0 ? <p>{t("offers.empty")}</p> : null}
      {offers.map(({ offer, pkg, terms }) => (
        <section aria-labelledby={`offer-${offer.id}`} class="offer">
          <h2 id={`offer-${offer.id}`}>
            {pkg.wbsId} {pkg.title}
          </h2>
          <dl class="facts">
            <dt>{t("offers.buyer")}</dt>
            <dd>{terms.buyer}</dd>
            <dt>{t("offers.client")}</dt>
            <dd>{terms.contract.client}</dd>
            <dt>{t("offers.contract")}</dt>
            <dd>
              {terms.contract.title}（{terms.contract.type}）
            </dd>
            <dt>{t("offers.period")}</dt>
            <dd>{t("common.period", { from: terms.contract.periodStart, to: terms.contract.periodEnd })}</dd>
            <dt>{t("contract.estimate")}</dt>
            <dd>{t("common.hours", { hours: hours(pkg.estimateHours) })}</dd>
            <dt>{t("package.skills")}</dt>
            <dd>{pkg.skills.map((s) => `${s.skill}:${s.level}`).join(", ") || t("common.none")}</dd>
            <dt>{t("package.acceptance")}</dt>
            <dd>{pkg.acceptanceCriteria || t("common.none")}</dd>
            <dt>{t("offers.expires")}</dt>
            <dd>{formatDateTime(lang, offer.expiresAt)}</dd>
          </dl>
          <p>
            <a href={`/offers/${offer.id}/order`}>{t("order.draftLink")}</a>
          </p>
          <div class="row">
            <form method="post" action={`/offers/${offer.id}/accept`} class="inline">
              <CsrfField c={c} />
              <button type="submit">{t("offers.accept")}</button>
            </form>
          </div>
          <form method="post" action={`/offers/${offer.id}/decline`} class="row">
            <CsrfField c={c} />
            <label>
              {t("offers.reason")}
              <input
                type="text"
                name="reason"
                required
                maxlength={500}
                aria-invalid={error?.offerId === offer.id ? "true" : undefined}
              />
            </label>
            <button type="submit" class="secondary">
              {t("offers.decline")}
            </button>
          </form>
        </section>
      ))}
    </Layout>
  );
}

/** News after a redirect to "my packages", by the `notice` it names. */
const myNotices = { accepted: "offers.accepted", started: "mine.started", stopped: "mine.stopped" } as const;

/** The ssh user that picks a package at the gateway. */
const sshUser = (pkg: WorkPackage) => `pkg-${pkg.id}`;

/**
 * How to reach a package's workspace from the engineer's own machine: the exact command, the host key's
 * fingerprint to compare on first connection, a ready ~/.ssh/config block, and notes for PuTTY, Tera Term
 * and (where the template allows what it needs) VS Code Remote-SSH.
 */
function HowToConnect({
  c,
  pkg,
  ssh,
  forwardsToLocalhost,
}: {
  c: WebContext;
  pkg: WorkPackage;
  ssh: SshAccess;
  forwardsToLocalhost: boolean;
}) {
  const t = c.get("t");
  const user = sshUser(pkg);
  const alias = `azusa-${pkg.wbsId}`;
  const knownHost = ssh.port === 22 ? ssh.host : `[${ssh.host}]:${ssh.port}`;
  const headingId = `connect-${pkg.id}`;
  return (
    <section class="connect" aria-labelledby={headingId}>
      <h2 id={headingId}>{t("connect.title", { wbs: pkg.wbsId, title: pkg.title })}</h2>
      <p>{t("connect.command")}</p>
      <pre>
        <code>{`ssh -p ${ssh.port} ${user}@${ssh.host}`}</code>
      </pre>
      <p>
        {t("connect.fingerprint")} <code class="fingerprint">{ssh.fingerprint}</code>
      </p>
      <p class="hint">{t("connect.fingerprintHint")}</p>
      <p>{t("connect.knownHosts")}</p>
      <pre>
        <code>{`${knownHost} ${ssh.hostPublicKey}`}</code>
      </pre>
      <p>{t("connect.config", { alias })}</p>
      <pre>
        <code>{`Host ${alias}\n  HostName ${ssh.host}\n  Port ${ssh.port}\n  User ${user}\n  IdentitiesOnly yes\n  IdentityFile ~/.ssh/id_ed25519`}</code>
      </pre>
      <h3>PuTTY</h3>
      <p>{t("connect.putty", { host: ssh.host, port: ssh.port, user })}</p>
      <h3>Tera Term</h3>
      <p>{t("connect.teraterm", { host: ssh.host, port: ssh.port, user })}</p>
      <h3>VS Code Remote-SSH</h3>
      <p>{forwardsToLocalhost ? t("connect.vscode", { alias }) : t("connect.vscodeNot")}</p>
    </section>
  );
}

function MyPackages({
  c,
  items,
  ssh,
}: {
  c: WebContext;
  items: {
    pkg: WorkPackage;
    workspace: WorkspaceWithServices | null;
    forwardsToLocalhost: boolean;
  }[];
  ssh: SshAccess;
}) {
  const t = c.get("t");
  const notice = myNotices[c.req.query("notice") as keyof typeof myNotices];
  const lang = c.get("lang");
  return (
    <Layout c={c} title={t("mine.title")}>
      {notice ? <Notice kind="ok">{t(notice)}</Notice> : null}
      <DataTable
        empty={t("mine.empty")}
        count={items.length}
        cols={[
          t("contract.wbsId"),
          t("common.title"),
          t("common.state"),
          t("mine.workspace"),
          t("mine.lastActivity"),
          t("mine.actions"),
        ]}
      >
        {items.map(({ pkg, workspace }) => (
          <tr>
            <td>{pkg.wbsId}</td>
            <td>{pkg.title}</td>
            <td>
              <span class="badge">{t(`state.${pkg.state}`)}</span>
            </td>
            <td>
              {workspace ? (
                <>
                  <span class="badge ws-state">{t(`ws.state.${workspace.state}`)}</span>{" "}
                  <CheckoutNote c={c} workspace={workspace} />{" "}
                  <span class="hint">{workspaceReason(lang, workspace.reason)}</span>{" "}
                  <UnavailableNote c={c} unavailable={workspace.unavailable} />
                  <ServicesNote c={c} services={workspace.services} />
                </>
              ) : (
                t("package.noWorkspace")
              )}
            </td>
            <td>
              {workspace?.lastActivityAt
                ? `${formatDateTime(lang, workspace.lastActivityAt)} ${activity(t, workspace.lastActivity)}`
                : t("workspaces.never")}
            </td>
            <td>
              <a href={`/packages/${pkg.id}/order`} aria-label={`${t("order.link")}: ${pkg.title}`}>
                {t("order.link")}
              </a>{" "}
              {/* Where the browser terminal and the web IDE open from; a stopped workspace starts on connect.
                  After 検収 the engineer's access has ended: neither opens, and only a running workspace stops. */}
              {(workspace?.state === "running" || workspace?.state === "stopped") && pkg.state !== "accepted" ? (
                <>
                  <a href={terminalPath(pkg.id)} aria-label={`${t("terminal.open")}: ${pkg.title}`}>
                    {t("terminal.open")}
                  </a>{" "}
                  <a href={idePath(pkg.id)} aria-label={`${t("ide.open")}: ${pkg.title}`}>
                    {t("ide.open")}
                  </a>
                </>
              ) : null}
              {workspace?.state === "running" || (workspace?.state === "stopped" && pkg.state !== "accepted") ? (
                <form
                  method="post"
                  action={`/workspaces/${workspace.id}/${workspace.state === "running" ? "stop" : "start"}`}
                >
                  <CsrfField c={c} />
                  <button
                    type="submit"
                    class="secondary"
                    aria-label={`${t(workspace.state === "running" ? "mine.stop" : "mine.start")}: ${pkg.title}`}
                  >
                    {t(workspace.state === "running" ? "mine.stop" : "mine.start")}
                  </button>
                </form>
              ) : null}
            </td>
          </tr>
        ))}
      </DataTable>
      {items
        .filter(({ workspace }) => workspace && workspace.state !== "destroyed")
        .map(({ pkg, forwardsToLocalhost }) => (
          <HowToConnect c={c} pkg={pkg} ssh={ssh} forwardsToLocalhost={forwardsToLocalhost} />
        ))}
    </Layout>
  );
}

/** The engineer's pages. */
export function engineerPages(deps: WebDeps) {
  const pending = async (user: WebUser) => {
    const offers = (await deps.offers.list(user)).filter((o) => o.state === "pending");
    const withPackages = await Promise.all(
      offers.map(async (offer) => ({
        offer,
        pkg: await orNull(deps.packages.get(user, offer.packageId)),
        // The draft order names the buyer, the client, the contract and its period: what the card tells.
        terms: await deps.orders.terms(user, { offerId: offer.id }),
      })),
    );
    return withPackages.filter((o): o is { offer: Offer; pkg: WorkPackage; terms: OrderTerms } => o.pkg !== null);
  };

  return new Hono<WebEnv>()
    .get("/offers", async (c) => {
      const user = requireRole(c, "engineer");
      const notice = c.req.query("notice") === "declined" ? c.get("t")("offers.declined") : undefined;
      return render(c, <Offers c={c} offers={await pending(user)} notice={notice} />);
    })
    .post("/offers/:id/accept", async (c) => {
      const user = requireRole(c, "engineer");
      await deps.offers.accept(user, c.req.param("id"));
      return c.redirect("/my-packages?notice=accepted", 303);
    })
    .post("/offers/:id/decline", async (c) => {
      const user = requireRole(c, "engineer");
      const id = c.req.param("id");
      const reason = formText(await c.req.parseBody(), "reason", 1000);
      if (!reason) {
        const fields = [{ path: c.get("t")("offers.reason"), message: c.get("t")("common.required") }];
        return render(c, <Offers c={c} offers={await pending(user)} error={{ offerId: id, fields }} />, 400);
      }
      await deps.offers.decline(user, id, reason);
      return c.redirect("/offers?notice=declined", 303);
    })
    .post("/workspaces/:id/:action{start|stop}", async (c) => {
      const user = requireRole(c, "engineer");
      const action = c.req.param("action") === "start" ? "start" : "stop";
      await deps.workspaces[action](user, c.req.param("id"));
      return c.redirect(`/my-packages?notice=${action === "start" ? "started" : "stopped"}`, 303);
    })
    .get("/my-packages", async (c) => {
      const user = requireRole(c, "engineer");
      const templates = await deps.workspaces.templates();
      const items = await Promise.all(
        (await heldPackages(deps, user)).map(async (pkg) => {
          const workspace = await orNull(deps.workspaces.withServices(user, pkg.id));
          const forwards = templates.get(workspace?.template ?? pkg.template)?.azusa.ssh.portForwarding ?? [];
          // VS Code Remote-SSH reaches its server through a forward to the workspace's own loopback.
          const forwardsToLocalhost = forwards.some((d) => d.host === "127.0.0.1" || d.host === "localhost");
          return { pkg, workspace, forwardsToLocalhost };
        }),
      );
      return render(c, <MyPackages c={c} items={items} ssh={deps.sshAccess} />);
    });
}
