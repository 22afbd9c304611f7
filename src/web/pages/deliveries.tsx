// Contractor: the 請負 deliveries waiting for inspection (検収), each accepted or sent back with reasons after a
// confirmation, with the payment due date beside it; and the accepted deliveries with their payment dates (due, paid).
import { Hono } from "hono";
import type { Contract } from "../../domain/contracts/contracts.service.ts";
import type { AcceptedDelivery, Delivery } from "../../domain/delivery/delivery.service.ts";
import { ORDER_CSP, type OrderOf } from "../../domain/delivery/order-document.ts";
import type { WorkPackage } from "../../domain/packages/packages.service.ts";
import { tokyoDay } from "../../domain/timesheets/time.ts";
import { AppError, invalidField, notFound } from "../../kernel/errors.ts";
import { text } from "../../kernel/messages.ts";
import { formatDateTime } from "../i18n/i18n.ts";
import { CsrfField, DataTable, FieldErrors, Layout, Notice } from "../layout.tsx";
import {
  formText,
  problemsOf,
  render,
  requireRole,
  type WebContext,
  type WebDeps,
  type WebEnv,
  type WebUser,
} from "../web-env.ts";

type Waiting = { pkg: WorkPackage; contract: Contract; delivery: Delivery };

/** Today in Tokyo, the default day of a payment recorded now. */
const today = () => tokyoDay(Date.now());

/** The API's bounds on a rejection's reasons (src/api/deliveries). */
const MAX_REASONS = 50;
const MAX_REASON = 2000;

const notices = {
  accepted: "deliveries.accepted",
  rejected: "deliveries.rejected",
  paid: "deliveries.paid",
} as const;

/** The accepted deliveries and their payments: due, or paid on a recorded day. */
function Payments({ c, items }: { c: WebContext; items: AcceptedDelivery[] }) {
  const t = c.get("t");
  const lang = c.get("lang");
  return (
    <section aria-labelledby="payments">
      <h2 id="payments">{t("deliveries.acceptedTitle")}</h2>
      <DataTable
        empty={t("deliveries.acceptedEmpty")}
        id="accepted-deliveries"
        count={items.length}
        cols={[
          t("contract.wbsId"),
          t("common.title"),
          t("package.contract"),
          t("package.engineer"),
          t("deliveries.acceptedAt"),
          t("deliveries.paymentDue"),
          t("deliveries.paidOn"),
        ]}
      >
        {items.map((d) => (
          <tr>
            <td>{d.wbsId}</td>
            <td>{d.title}</td>
            <td>
              <a href={`/contracts/${d.contractId}`}>{d.contractTitle}</a>
            </td>
            <td>{d.engineerName}</td>
            <td>{d.acceptedAt ? formatDateTime(lang, d.acceptedAt) : ""}</td>
            <td>{d.paymentDueOn}</td>
            <td>
              {d.paidOn ? (
                <span class="badge">{t("deliveries.paidBadge", { day: d.paidOn })}</span>
              ) : (
                <form method="post" action={`/deliveries/${d.id}/paid`} class="inline">
                  <CsrfField c={c} />
                  <label>
                    <span class="visually-hidden">{t("deliveries.paidOn")}</span>
                    <input type="date" name="paidOn" value={today()} required />
                  </label>{" "}
                  <button type="submit" class="secondary" aria-label={`${t("deliveries.markPaid")}: ${d.title}`}>
                    {t("deliveries.markPaid")}
                  </button>
                </form>
              )}
            </td>
          </tr>
        ))}
      </DataTable>
    </section>
  );
}

/** The last step before 検収 or a rejection: what is about to happen, and a button that does it. */
function Confirm({
  c,
  item,
  decision,
  reasons,
}: {
  c: WebContext;
  item: Waiting;
  decision: "accept" | "reject";
  reasons: string[];
}) {
  const t = c.get("t");
  const { pkg, contract, delivery } = item;
  const accept = decision === "accept";
  return (
    <Layout c={c} title={t(accept ? "deliveries.confirmAcceptTitle" : "deliveries.confirmRejectTitle")}>
      <div class="notice" role="alert">
        <p>
          {t(accept ? "deliveries.confirmAccept" : "deliveries.confirmReject", { title: `${pkg.wbsId} ${pkg.title}` })}
        </p>
      </div>
      <dl class="facts">
        <dt>{t("package.contract")}</dt>
        <dd>{contract.title}</dd>
        <dt>{t("deliveries.deliveredAt")}</dt>
        <dd>{formatDateTime(c.get("lang"), delivery.deliveredAt)}</dd>
        <dt>{t("deliveries.paymentDue")}</dt>
        <dd>{delivery.paymentDueOn}</dd>
        <dt>{t("package.acceptance")}</dt>
        <dd>{pkg.acceptanceCriteria || t("common.none")}</dd>
        {accept ? null : (
          <>
            <dt>{t("deliveries.reasons")}</dt>
            <dd>
              <ul>
                {reasons.map((r) => (
                  <li>{r}</li>
                ))}
              </ul>
            </dd>
          </>
        )}
      </dl>
      <div class="row">
        <form method="post" action={`/packages/${pkg.id}/${accept ? "accept" : "reject"}-delivery`} class="inline">
          <CsrfField c={c} />
          <input type="hidden" name="confirm" value="yes" />
          {accept ? null : <input type="hidden" name="reasons" value={reasons.join("\n")} />}
          <button type="submit" class={accept ? undefined : "secondary"}>
            {t(accept ? "deliveries.confirmAcceptButton" : "deliveries.confirmRejectButton")}
          </button>
        </form>{" "}
        <a href="/deliveries">{t("deliveries.cancel")}</a>
      </div>
    </Layout>
  );
}

function Deliveries({
  c,
  items,
  accepted,
  error,
}: {
  c: WebContext;
  items: Waiting[];
  accepted: AcceptedDelivery[];
  error?: { path: string; message: string }[];
}) {
  const t = c.get("t");
  const notice = notices[c.req.query("notice") as keyof typeof notices];
  return (
    <Layout c={c} title={t("deliveries.title")}>
      {notice ? <Notice kind="ok">{t(notice)}</Notice> : null}
      {error ? <FieldErrors c={c} fields={error} /> : null}
      {items.length === 0 ? <p>{t("deliveries.empty")}</p> : null}
      {items.map(({ pkg, contract, delivery }) => (
        <section aria-labelledby={`delivery-${delivery.id}`} class="delivery">
          <h2 id={`delivery-${delivery.id}`}>
            {pkg.wbsId} {pkg.title}
          </h2>
          <dl class="facts">
            <dt>{t("package.contract")}</dt>
            <dd>
              <a href={`/contracts/${contract.id}`}>{contract.title}</a>
            </dd>
            <dt>{t("deliveries.deliveredAt")}</dt>
            <dd>{formatDateTime(c.get("lang"), delivery.deliveredAt)}</dd>
            <dt>{t("deliveries.paymentDue")}</dt>
            <dd>{delivery.paymentDueOn}</dd>
            <dt>{t("deliveries.note")}</dt>
            <dd>{delivery.note || t("common.none")}</dd>
            <dt>{t("package.acceptance")}</dt>
            <dd>{pkg.acceptanceCriteria || t("common.none")}</dd>
          </dl>
          <div class="row">
            <form method="post" action={`/packages/${pkg.id}/accept-delivery`} class="inline">
              <CsrfField c={c} />
              <button type="submit" aria-label={`${t("deliveries.accept")}: ${pkg.title}`}>
                {t("deliveries.accept")}
              </button>
            </form>
          </div>
          <form method="post" action={`/packages/${pkg.id}/reject-delivery`} class="stack">
            <CsrfField c={c} />
            <label>
              {t("deliveries.reasons")}
              <textarea name="reasons" rows={3} maxlength={5000} required />
            </label>
            <button type="submit" class="secondary">
              {t("deliveries.reject")}
            </button>
          </form>
        </section>
      ))}
      <Payments c={c} items={accepted} />
    </Layout>
  );
}

/** The delivery pages. */
export function deliveryPages(deps: WebDeps) {
  const waiting = async (user: WebUser): Promise<Waiting[]> => {
    const contracts = await deps.contracts.list(user);
    const found = await Promise.all(
      contracts.map(async (contract) => {
        const delivered = (await deps.packages.listByContract(user, contract.id)).filter(
          (p) => p.state === "delivered",
        );
        return Promise.all(
          delivered.map(async (pkg) => {
            const open = (await deps.deliveries.list(user, pkg.id)).find((d) => d.decision === null);
            return open ? { pkg, contract, delivery: open } : null;
          }),
        );
      }),
    );
    return found.flat().filter((w) => w !== null);
  };

  /** An order document as its own printable page, under its own policy (no script, its one inline style). */
  const order = async (c: WebContext, of: OrderOf) => {
    const user = requireRole(c, "engineer", "lead", "contractor", "operator");
    const html = deps.orders.render(await deps.orders.terms(user, of));
    c.header("content-security-policy", ORDER_CSP);
    return c.html(html);
  };

  const page = async (c: WebContext, user: WebUser, error?: { path: string; message: string }[]) => (
    <Deliveries c={c} items={await waiting(user)} accepted={await deps.deliveries.accepted(user)} error={error} />
  );

  /** The delivery of the package in the path that awaits inspection; nothing awaiting is "not found". */
  const awaiting = async (user: WebUser, c: WebContext): Promise<Waiting> => {
    const found = (await waiting(user)).find((w) => w.pkg.id === c.req.param("id"));
    if (!found) throw notFound("delivery");
    return found;
  };

  return new Hono<WebEnv>()
    .get("/assignments/:id/order", (c) => order(c, { assignmentId: c.req.param("id") }))
    .get("/packages/:id/order", (c) => order(c, { packageId: c.req.param("id") }))
    .get("/offers/:id/order", (c) => order(c, { offerId: c.req.param("id") }))
    .get("/deliveries", async (c) => {
      const user = requireRole(c, "contractor");
      return render(c, await page(c, user));
    })
    .post("/packages/:id/accept-delivery", async (c) => {
      const user = requireRole(c, "contractor");
      const form = await c.req.parseBody({ all: true });
      if (form.confirm !== "yes")
        return render(c, <Confirm c={c} item={await awaiting(user, c)} decision="accept" reasons={[]} />);
      await deps.deliveries.accept(user, c.req.param("id"));
      return c.redirect("/deliveries?notice=accepted", 303);
    })
    .post("/packages/:id/reject-delivery", async (c) => {
      const user = requireRole(c, "contractor");
      const form = await c.req.parseBody({ all: true });
      // One reason a line, as a contractor writes a list of findings; bounded as the API bounds the list:
      // at most 50 reasons of at most 2000 characters each.
      const reasons = formText(form, "reasons", MAX_REASONS * (MAX_REASON + 2))
        .split(/\r?\n/)
        .map((r) => r.trim())
        .filter(Boolean);
      if (reasons.length > MAX_REASONS) throw invalidField("reasons", text("form.manyReasons", { n: MAX_REASONS }));
      if (reasons.some((r) => r.length > MAX_REASON)) {
        throw invalidField("reasons", text("form.longReason", { n: MAX_REASON }));
      }
      if (reasons.length === 0) {
        const t = c.get("t");
        const fields = [{ path: t("deliveries.reasons"), message: t("common.required") }];
        return render(c, await page(c, user, fields), 400);
      }
      if (form.confirm !== "yes") {
        return render(c, <Confirm c={c} item={await awaiting(user, c)} decision="reject" reasons={reasons} />);
      }
      await deps.deliveries.reject(user, c.req.param("id"), reasons);
      return c.redirect("/deliveries?notice=rejected", 303);
    })
    .post("/deliveries/:id/paid", async (c) => {
      const user = requireRole(c, "contractor");
      const form = await c.req.parseBody({ all: true });
      try {
        await deps.deliveries.markPaid(user, c.req.param("id"), formText(form, "paidOn", 20));
      } catch (err) {
        if (err instanceof AppError && err.code === "VALIDATION") {
          return render(c, await page(c, user, problemsOf(c, err, "paidOn")), 400);
        }
        throw err;
      }
      return c.redirect("/deliveries?notice=paid", 303);
    });
}
