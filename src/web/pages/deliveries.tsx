// Contractor: the 請負 deliveries waiting for inspection (検収), each accepted or sent back with reasons,
// with the payment due date the Subcontract Act sets beside it.
import { Hono } from "hono";
import type { Contract } from "../../domain/contracts/contracts.service.ts";
import type { Delivery } from "../../domain/delivery/delivery.service.ts";
import { ORDER_CSP, type OrderOf } from "../../domain/delivery/order-document.ts";
import type { WorkPackage } from "../../domain/packages/packages.service.ts";
import { invalidField } from "../../kernel/errors.ts";
import { text } from "../../kernel/messages.ts";
import { formatDateTime } from "../i18n/i18n.ts";
import { CsrfField, FieldErrors, Layout, Notice } from "../layout.tsx";
import { formText, render, requireRole, type WebContext, type WebDeps, type WebEnv, type WebUser } from "../web-env.ts";

type Waiting = { pkg: WorkPackage; contract: Contract; delivery: Delivery };

/** The API's bounds on a rejection's reasons (src/api/deliveries). */
const MAX_REASONS = 50;
const MAX_REASON = 2000;

const notices = { accepted: "deliveries.accepted", rejected: "deliveries.rejected" } as const;

function Deliveries({
  c,
  items,
  error,
}: {
  c: WebContext;
  items: Waiting[];
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

  return new Hono<WebEnv>()
    .get("/assignments/:id/order", (c) => order(c, { assignmentId: c.req.param("id") }))
    .get("/packages/:id/order", (c) => order(c, { packageId: c.req.param("id") }))
    .get("/offers/:id/order", (c) => order(c, { offerId: c.req.param("id") }))
    .get("/deliveries", async (c) => {
      const user = requireRole(c, "contractor");
      return render(c, <Deliveries c={c} items={await waiting(user)} />);
    })
    .post("/packages/:id/accept-delivery", async (c) => {
      const user = requireRole(c, "contractor");
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
        return render(c, <Deliveries c={c} items={await waiting(user)} error={fields} />, 400);
      }
      await deps.deliveries.reject(user, c.req.param("id"), reasons);
      return c.redirect("/deliveries?notice=rejected", 303);
    });
}
