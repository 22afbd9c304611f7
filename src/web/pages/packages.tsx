// Lead (and contractor): the package board by state, one package with its suggestions and the reasons for
// each, opening a package and offering it to an engineer.

import { Hono } from "hono";
import type { Contract } from "../../domain/contracts/contracts.service.ts";
import type { Ineligibility } from "../../domain/matching/matching.ts";
import type { Offer, Suggestions } from "../../domain/offers/offers.service.ts";
import { packageStates } from "../../domain/packages/lifecycle.ts";
import type { WorkPackage } from "../../domain/packages/packages.service.ts";
import { byWbs } from "../../domain/packages/wbs-order.ts";
import type { WorkspaceWithServices } from "../../domain/workspaces/workspaces.service.ts";
import { invalidWith } from "../../kernel/errors.ts";
import { msg } from "../../kernel/messages.ts";
import { formatDateTime, hm } from "../i18n/i18n.ts";
import { workspaceReason } from "../i18n/stored.ts";
import {
  CheckoutNote,
  CsrfField,
  DataTable,
  Layout,
  Notice,
  ServicesNote,
  TableHead,
  UnavailableNote,
} from "../layout.tsx";
import { formText, orNull, render, requireRole, type WebContext, type WebDeps, type WebEnv } from "../web-env.ts";

const hours = hm;

/** Cards a board page shows at most; the rest are on the next pages. */
export const BOARD_PAGE = 100;

interface BoardView {
  items: { pkg: WorkPackage; contract: Contract }[];
  contracts: Contract[];
  contractId: string;
  state: string;
  page: number;
  total: number;
}

function Board({ c, view }: { c: WebContext; view: BoardView }) {
  const t = c.get("t");
  const { items, contracts, contractId, state: only, page, total } = view;
  const pages = Math.max(1, Math.ceil(total / BOARD_PAGE));
  const link = (p: number) => {
    const q = new URLSearchParams();
    if (contractId) q.set("contract", contractId);
    if (only) q.set("state", only);
    q.set("page", String(p));
    return `/board?${q}`;
  };
  return (
    <Layout c={c} title={t("board.title")}>
      <form method="get" action="/board" class="row" aria-label={t("board.filter")}>
        <label>
          {t("board.contractFilter")}
          <select name="contract">
            <option value="">{t("board.all")}</option>
            {contracts.map((k) => (
              <option value={k.id} selected={k.id === contractId}>
                {k.title}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("board.stateFilter")}
          <select name="state">
            <option value="">{t("board.all")}</option>
            {packageStates.map((s) => (
              <option value={s} selected={s === only}>
                {t(`state.${s}`)}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">{t("board.apply")}</button>
      </form>
      <p class="hint" id="board-range">
        {t("board.range", {
          from: total === 0 ? 0 : (page - 1) * BOARD_PAGE + 1,
          to: Math.min(page * BOARD_PAGE, total),
          total,
        })}
      </p>
      {pages > 1 ? (
        <nav class="row" aria-label={t("board.pages")}>
          {page > 1 ? <a href={link(page - 1)}>{t("board.prev")}</a> : null}{" "}
          {page < pages ? <a href={link(page + 1)}>{t("board.next")}</a> : null}
        </nav>
      ) : null}
      <div class="board">
        {packageStates
          .filter((s) => (only ? s === only : s !== "cancelled"))
          .map((state) => {
            const inState = items.filter((i) => i.pkg.state === state);
            return (
              <section aria-labelledby={`col-${state}`} data-state={state}>
                <h2 id={`col-${state}`}>
                  {t(`state.${state}`)} <span class="badge">{inState.length}</span>
                </h2>
                {inState.length === 0 ? (
                  <p class="hint">{t("board.empty")}</p>
                ) : (
                  <ul>
                    {inState.map(({ pkg, contract }) => (
                      <li>
                        <a href={`/packages/${pkg.id}`}>
                          {pkg.wbsId} {pkg.title}
                        </a>
                        <div class="hint">
                          {t("board.contract", { title: contract.title })} ·{" "}
                          {t("common.hours", { hours: hours(pkg.estimateHours) })}
                        </div>
                      </li>
                    ))}
                  </ul>
                )}
              </section>
            );
          })}
      </div>
    </Layout>
  );
}

/** One reason an engineer is not eligible, in the page's language. */
export function whyNot(c: WebContext, rule: Ineligibility): string {
  const t = c.get("t");
  switch (rule.rule) {
    case "office": {
      const allowed = rule.allowed.join(t("common.listSeparator"));
      return rule.office === null ? t("why.noOffice", { allowed }) : t("why.office", { office: rule.office, allowed });
    }
    case "skill":
      return rule.has === null
        ? t("why.skillMissing", { skill: rule.skill, required: rule.required })
        : t("why.skillLow", { skill: rule.skill, has: rule.has, required: rule.required });
    case "vetting": {
      const kind = t(`vetting.kind.${rule.kind}`);
      return rule.validUntil === null
        ? t("why.vettingMissing", { kind })
        : t("why.vettingShort", { kind, validUntil: rule.validUntil, neededUntil: rule.neededUntil });
    }
    case "capacity":
      return rule.awayDays
        ? t("why.capacityAway", { spare: hours(rule.spareHours), needed: hours(rule.neededHours), days: rule.awayDays })
        : t("why.capacity", { spare: hours(rule.spareHours), needed: hours(rule.neededHours) });
    case "size":
      return t("why.size", { largest: hours(rule.largestHours), size: hours(rule.estimateHours) });
  }
}

function SuggestionsView({
  c,
  pkg,
  suggestions,
  mayOffer,
}: {
  c: WebContext;
  pkg: WorkPackage;
  suggestions: Suggestions;
  mayOffer: boolean;
}) {
  const t = c.get("t");
  return (
    <>
      <section aria-labelledby="suggestions">
        <h2 id="suggestions">{t("package.suggestions")}</h2>
        <p class="hint">{t("package.suggestionsHint", { hours: hours(suggestions.weeklyHours) })}</p>
        <DataTable
          empty={t("package.noSuggestions")}
          id="ranked"
          count={suggestions.ranked.length}
          cols={[
            { label: t("package.rank"), num: true },
            t("package.engineer"),
            t("package.continuity"),
            { label: t("package.skillMargin"), num: true },
            { label: t("package.spareAfter"), num: true },
            t("package.fit"),
            mayOffer ? t("package.offer") : null,
          ]}
        >
          {suggestions.ranked.map((s, i) => (
            <tr>
              <td class="num">{i + 1}</td>
              <th scope="row">
                {s.name}
                {s.reasons.preferredOffice ? <span class="badge">{t("package.preferredOffice")}</span> : null}
              </th>
              <td>{s.reasons.continuity.length ? s.reasons.continuity.join(", ") : t("common.none")}</td>
              <td class="num">{s.reasons.skillMargin}</td>
              <td class="num">{t("common.hours", { hours: hours(s.reasons.spareHoursAfter) })}</td>
              <td>
                {t("package.fits", { needed: hours(s.fit.neededHours), available: hours(s.fit.availableHours) })}
                {s.fit.fromWindows || s.fit.awayDays ? (
                  <span class="hint">
                    {" "}
                    {[
                      s.fit.fromWindows ? t("package.fitWindows") : null,
                      s.fit.awayDays ? t("package.fitAway", { days: s.fit.awayDays }) : null,
                    ]
                      .filter(Boolean)
                      .join("・")}
                  </span>
                ) : null}
              </td>
              {mayOffer ? (
                <td>
                  <form method="post" action={`/packages/${pkg.id}/offers`} class="inline">
                    <CsrfField c={c} />
                    <input type="hidden" name="engineerId" value={s.engineerId} />
                    <input type="hidden" name="name" value={s.name} />
                    <button type="submit" aria-label={t("package.offerTo", { name: s.name })}>
                      {t("package.offer")}
                    </button>
                  </form>
                </td>
              ) : null}
            </tr>
          ))}
        </DataTable>
      </section>
      {suggestions.ineligible.length ? (
        <section aria-labelledby="ineligible">
          <h2 id="ineligible">{t("package.ineligible")}</h2>
          <table>
            <TableHead cols={[t("package.engineer"), t("package.why")]} />
            <tbody>
              {suggestions.ineligible.map((i) => (
                <tr>
                  <th scope="row">{i.name}</th>
                  <td>
                    <ul>
                      {i.rules.map((rule) => (
                        <li>{whyNot(c, rule)}</li>
                      ))}
                    </ul>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}
    </>
  );
}

function PackageDetail({
  c,
  pkg,
  contract,
  suggestions,
  offers,
  workspace,
  notice,
}: {
  c: WebContext;
  pkg: WorkPackage;
  contract: Contract;
  suggestions: Suggestions | null;
  offers: Offer[];
  workspace: WorkspaceWithServices | null;
  notice?: string;
}) {
  const t = c.get("t");
  const lead = c.get("user")?.role === "lead";
  return (
    <Layout c={c} title={`${t("package.title", { wbsId: pkg.wbsId })}: ${pkg.title}`}>
      {notice ? <Notice kind="ok">{notice}</Notice> : null}
      <section>
        <dl class="facts">
          <dt>{t("common.state")}</dt>
          <dd>
            <span class={`badge state-${pkg.state}`} id="package-state">
              {t(`state.${pkg.state}`)}
            </span>
          </dd>
          <dt>{t("package.contract")}</dt>
          <dd>
            <a href={`/contracts/${contract.id}`}>{contract.title}</a>
          </dd>
          <dt>{t("contract.estimate")}</dt>
          <dd>{t("common.hours", { hours: hours(pkg.estimateHours) })}</dd>
          <dt>{t("package.skills")}</dt>
          <dd>{pkg.skills.length ? pkg.skills.map((s) => `${s.skill}:${s.level}`).join(", ") : t("common.none")}</dd>
          <dt>{t("package.acceptance")}</dt>
          <dd>{pkg.acceptanceCriteria || t("common.none")}</dd>
          <dt>{t("package.template")}</dt>
          <dd>{pkg.template}</dd>
          {offers.some((o) => o.state === "accepted") ? (
            <>
              <dt>{t("package.order")}</dt>
              <dd>
                <a href={`/packages/${pkg.id}/order`}>{t("order.link")}</a>
              </dd>
            </>
          ) : null}
        </dl>
      </section>
      {lead && pkg.state === "draft" ? (
        <form method="post" action={`/packages/${pkg.id}/open`}>
          <CsrfField c={c} />
          <button type="submit">{t("package.open")}</button>
        </form>
      ) : null}
      {suggestions ? (
        <SuggestionsView c={c} pkg={pkg} suggestions={suggestions} mayOffer={lead} />
      ) : pkg.state === "draft" ? (
        <p class="hint">{t("package.notOpen")}</p>
      ) : null}
      {offers.length ? (
        <section aria-labelledby="offers">
          <h2 id="offers">{t("package.offers")}</h2>
          <table>
            <TableHead
              cols={[
                t("audit.at"),
                t("package.offerEngineer"),
                t("common.state"),
                t("offers.expires"),
                t("package.order"),
              ]}
            />
            <tbody>
              {offers.map((o) => (
                <tr>
                  <td>{formatDateTime(c.get("lang"), o.createdAt)}</td>
                  <td>{o.engineerName ?? ""}</td>
                  <td>
                    {t(`offer.state.${o.state}`)}
                    {o.reason ? `: ${o.reason}` : ""}
                  </td>
                  <td>{formatDateTime(c.get("lang"), o.expiresAt)}</td>
                  <td>
                    {o.state === "accepted" || o.state === "pending" ? (
                      <a
                        href={`/offers/${o.id}/order`}
                        aria-label={`${t(o.state === "accepted" ? "order.link" : "order.draftLink")}: ${o.engineerName ?? ""}`}
                      >
                        {t(o.state === "accepted" ? "order.link" : "order.draftLink")}
                      </a>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}
      {lead ? (
        <p>
          <a href={`/packages/${pkg.id}/pulls`}>{t("pulls.title")}</a>
        </p>
      ) : null}
      {lead ? (
        <p>
          <a href={`/packages/${pkg.id}/recordings`}>{t("recordings.link")}</a>
        </p>
      ) : null}
      <section aria-labelledby="workspace">
        <h2 id="workspace">{t("package.workspace")}</h2>
        {workspace ? (
          <>
            <p>
              <span class="badge">{t(`ws.state.${workspace.state}`)}</span> <CheckoutNote c={c} workspace={workspace} />{" "}
              {workspaceReason(c.get("lang"), workspace.reason)}{" "}
              <UnavailableNote c={c} unavailable={workspace.unavailable} />
            </p>
            <ServicesNote c={c} services={workspace.services} />
          </>
        ) : (
          <p>{t("package.noWorkspace")}</p>
        )}
      </section>
    </Layout>
  );
}

/** The board and the package pages. */
export function packagePages(deps: WebDeps) {
  const detail = async (c: WebContext, id: string, notice?: string) => {
    const user = requireRole(c, "lead", "contractor");
    const pkg = await deps.packages.get(user, id);
    const [contract, offers, workspace] = await Promise.all([
      deps.contracts.get(user, pkg.contractId),
      deps.offers.list(user, { packageId: id }),
      orNull(deps.workspaces.withServices(user, id)),
    ]);
    const suggestions = pkg.state === "open" ? await deps.offers.suggestions(user, id) : null;
    return render(
      c,
      <PackageDetail
        c={c}
        pkg={pkg}
        contract={contract}
        suggestions={suggestions}
        offers={offers}
        workspace={workspace}
        notice={notice}
      />,
    );
  };

  return new Hono<WebEnv>()
    .get("/board", async (c) => {
      const user = requireRole(c, "lead");
      const contracts = await deps.contracts.list(user);
      const contractId = contracts.some((k) => k.id === c.req.query("contract")) ? (c.req.query("contract") ?? "") : "";
      const state = (packageStates as readonly string[]).includes(c.req.query("state") ?? "")
        ? (c.req.query("state") ?? "")
        : "";
      const chosen = contractId ? contracts.filter((k) => k.id === contractId) : contracts;
      const all = (
        await Promise.all(
          chosen.map(async (contract) =>
            (await deps.packages.listByContract(user, contract.id)).map((pkg) => ({ pkg, contract })),
          ),
        )
      )
        .flat()
        .filter((i) => (state ? i.pkg.state === state : i.pkg.state !== "cancelled"))
        .sort((a, b) => a.contract.title.localeCompare(b.contract.title, "ja") || byWbs(a.pkg, b.pkg));
      const pages = Math.max(1, Math.ceil(all.length / BOARD_PAGE));
      const page = Math.min(pages, Math.max(1, Math.floor(Number(c.req.query("page") ?? "1")) || 1));
      const items = all.slice((page - 1) * BOARD_PAGE, page * BOARD_PAGE);
      return render(c, <Board c={c} view={{ items, contracts, contractId, state, page, total: all.length }} />);
    })
    .get("/packages/:id", async (c) => {
      const t = c.get("t");
      const notice = c.req.query("notice");
      const name = c.req.query("name") ?? "";
      const text =
        notice === "opened" ? t("package.opened") : notice === "offered" ? t("package.offered", { name }) : undefined;
      return detail(c, c.req.param("id"), text);
    })
    .post("/packages/:id/open", async (c) => {
      const user = requireRole(c, "lead");
      const id = c.req.param("id");
      await deps.packages.request(user, id, "open");
      return c.redirect(`/packages/${id}?notice=opened`, 303);
    })
    .post("/packages/:id/offers", async (c) => {
      const user = requireRole(c, "lead");
      const id = c.req.param("id");
      const form = await c.req.parseBody();
      const engineerId = String(form.engineerId ?? "");
      if (!engineerId) {
        throw invalidWith(msg("form.engineerRequired"), "engineerId", msg("issue.required"));
      }
      await deps.offers.offer(user, id, engineerId);
      const params = new URLSearchParams({ notice: "offered", name: formText(form, "name", 200) });
      return c.redirect(`/packages/${id}?${params}`, 303);
    });
}
