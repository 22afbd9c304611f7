// Contractor: a month's hours per contract (approved and not yet approved), the CSV export for billing, for 準委任
// contracts each engineer's settlement against the monthly band, and the 請負 task lines (accepted items × unit
// price per keyer and batch).
import { Hono } from "hono";
import type { Contract } from "../../domain/contracts/contracts.service.ts";
import type { HoursRow, MonthSettlement, TaskLines } from "../../domain/timesheets/settlements.service.ts";
import { tokyoDay } from "../../domain/timesheets/time.ts";
import { hm } from "../i18n/i18n.ts";
import { CsrfField, DataTable, Layout, Notice } from "../layout.tsx";
import { formText, render, requireRole, type WebContext, type WebDeps, type WebEnv } from "../web-env.ts";

const hours = (minutes: number) => hm(minutes / 60);
const yen = (n: number) => new Intl.NumberFormat("ja-JP").format(n);

/** The month before or after `month` (YYYY-MM). */
const shift = (month: string, by: number) => {
  const [y, m] = month.split("-").map(Number) as [number, number];
  const d = new Date(Date.UTC(y, m - 1 + by, 1));
  return d.toISOString().slice(0, 7);
};

type ContractMonth = {
  contract: Contract;
  rows: HoursRow[];
  settlements: MonthSettlement | null;
  tasks: TaskLines;
};

/** The month's task lines: per keyer and batch, accepted items × unit price, and the total. */
function TaskLinesTable({ c, contractId, tasks }: { c: WebContext; contractId: string; tasks: TaskLines }) {
  const t = c.get("t");
  if (tasks.items.length === 0) return null;
  const heading = `tasks-pay-${contractId}`;
  return (
    <>
      <h3 id={heading}>{t("monthHours.tasks")}</h3>
      <DataTable
        empty=""
        count={tasks.items.length}
        labelledBy={heading}
        cols={[
          t("monthHours.keyer"),
          t("monthHours.batch"),
          { label: t("monthHours.acceptedItems"), num: true },
          { label: t("monthHours.unitPrice"), num: true },
          { label: t("monthHours.amount"), num: true },
        ]}
      >
        {tasks.items.map((l) => (
          <tr>
            <th scope="row">{l.engineerName}</th>
            <td>{l.title}</td>
            <td class="num">{t("monthHours.itemsCount", { n: yen(l.acceptedItems) })}</td>
            <td class="num">{t("common.yen", { amount: yen(l.unitPriceYen) })}</td>
            <td class="num">{t("common.yen", { amount: yen(l.amountYen) })}</td>
          </tr>
        ))}
        <tr>
          <th scope="row">{t("monthHours.tasksTotal")}</th>
          <td />
          <td class="num">
            {t("monthHours.itemsCount", { n: yen(tasks.items.reduce((s, l) => s + l.acceptedItems, 0)) })}
          </td>
          <td />
          <td class="num">{t("common.yen", { amount: yen(tasks.amountYen) })}</td>
        </tr>
      </DataTable>
      <p class="hint">{t("monthHours.tasksRule")}</p>
    </>
  );
}

function ContractHours({ c, month, item }: { c: WebContext; month: string; item: ContractMonth }) {
  const t = c.get("t");
  const { contract, rows, settlements, tasks } = item;
  // A 準委任 month closes its hours and task lines together; a 請負 contract's month, its task lines alone.
  const closed = settlements ? settlements.closed : tasks.closed;
  const closable = settlements !== null || tasks.items.length > 0;
  const approved = rows.filter((r) => r.weekState === "approved").reduce((s, r) => s + r.roundedMinutes, 0);
  const pending = rows.filter((r) => r.weekState !== "approved").reduce((s, r) => s + r.roundedMinutes, 0);
  return (
    <section aria-labelledby={`contract-${contract.id}`} class="contract-hours">
      <h2 id={`contract-${contract.id}`}>
        {contract.title} <span class="badge">{t(`contract.type.${contract.type}`)}</span>
      </h2>
      <p>
        {t("monthHours.totals", { approved: hours(approved), pending: hours(pending), rows: rows.length })}{" "}
        <a href={`/api/v1/contracts/${contract.id}/hours.csv?month=${month}`} download>
          {t("monthHours.csv")}
        </a>
      </p>
      {contract.band ? (
        <p class="hint">
          {t("monthHours.band", {
            min: contract.band.minHours,
            max: contract.band.maxHours,
            fee: yen(contract.band.monthlyFeeYen),
            over: yen(contract.band.overRateYen),
            under: yen(contract.band.underRateYen),
          })}
        </p>
      ) : null}
      {closed ? (
        <p class="badge">{t("monthHours.closedAt", { at: closed.at.slice(0, 16).replace("T", " ") })}</p>
      ) : null}
      {settlements ? (
        <DataTable
          empty={t("monthHours.noSettlement")}
          count={settlements.items.length}
          cols={[
            t("package.engineer"),
            { label: t("monthHours.approved"), num: true },
            { label: t("monthHours.pending"), num: true },
            t("monthHours.basis"),
            { label: t("monthHours.base"), num: true },
            { label: t("monthHours.adjustments"), num: true },
            { label: t("monthHours.amount"), num: true },
          ]}
        >
          {settlements.items.map((s) => (
            <tr>
              <th scope="row">{s.engineerName}</th>
              <td class="num">{t("common.hours", { hours: hm(s.approvedHours) })}</td>
              <td class="num">{t("common.hours", { hours: hm(s.pendingHours) })}</td>
              <td>{t(`monthHours.basis.${s.basis}`)}</td>
              <td class="num">{t("common.yen", { amount: yen(s.baseAmountYen) })}</td>
              <td class="num">
                {t("common.yen", { amount: yen(s.adjustments.reduce((sum, a) => sum + a.amountYen, 0)) })}
              </td>
              <td class="num">{t("common.yen", { amount: yen(s.amountYen) })}</td>
            </tr>
          ))}
        </DataTable>
      ) : null}
      <TaskLinesTable c={c} contractId={contract.id} tasks={tasks} />
      {closable ? (
        <p>
          {t("monthHours.settlementFiles")}{" "}
          <a href={`/api/v1/contracts/${contract.id}/settlements.csv?month=${month}`} download>
            {t("monthHours.settlementCsv")}
          </a>{" "}
          <a href={`/api/v1/contracts/${contract.id}/settlements.xlsx?month=${month}`} download>
            {t("monthHours.settlementXlsx")}
          </a>
        </p>
      ) : null}
      {closable && !closed && month < tokyoDay(Date.now()).slice(0, 7) ? (
        <form method="post" action="/hours/close" class="row">
          <CsrfField c={c} />
          <input type="hidden" name="contractId" value={contract.id} />
          <input type="hidden" name="month" value={month} />
          <button type="submit">{t("monthHours.close", { month })}</button>
        </form>
      ) : null}
      {closed ? (
        <form method="post" action="/hours/reopen" class="row">
          <CsrfField c={c} />
          <input type="hidden" name="contractId" value={contract.id} />
          <input type="hidden" name="month" value={month} />
          <label>
            {t("monthHours.reopenReason")}
            <input type="text" name="reason" required maxlength={2000} />
          </label>
          <button type="submit" class="secondary">
            {t("monthHours.reopen")}
          </button>
        </form>
      ) : null}
    </section>
  );
}

function MonthHours({ c, month, items }: { c: WebContext; month: string; items: ContractMonth[] }) {
  const t = c.get("t");
  const notice = c.req.query("notice");
  return (
    <Layout c={c} title={t("monthHours.title", { month })}>
      {notice === "closed" || notice === "reopened" ? (
        <Notice kind="ok">{t(`monthHours.${notice}`, { month })}</Notice>
      ) : null}
      <p class="row">
        <a href={`/hours?month=${shift(month, -1)}`}>{t("monthHours.previous")}</a>{" "}
        <a href={`/hours?month=${shift(month, 1)}`}>{t("monthHours.next")}</a>
      </p>
      {items.length === 0 ? <p>{t("contracts.empty")}</p> : null}
      {items.map((item) => (
        <ContractHours c={c} month={month} item={item} />
      ))}
    </Layout>
  );
}

/** The month's hours page. */
export function hoursPages(deps: WebDeps) {
  /** The contract and month a close or reopen form names. */
  const target = async (c: WebContext) => {
    const form = await c.req.parseBody();
    return { form, contractId: formText(form, "contractId", 100), month: formText(form, "month", 7) };
  };
  return new Hono<WebEnv>()
    .post("/hours/close", async (c) => {
      const user = requireRole(c, "contractor");
      const { contractId, month } = await target(c);
      await deps.settlements.close(user, contractId, month);
      return c.redirect(`/hours?month=${month}&notice=closed`, 303);
    })
    .post("/hours/reopen", async (c) => {
      const user = requireRole(c, "contractor");
      const { form, contractId, month } = await target(c);
      await deps.settlements.reopenMonth(user, contractId, month, formText(form, "reason"));
      return c.redirect(`/hours?month=${month}&notice=reopened`, 303);
    })
    .get("/hours", async (c) => {
      const user = requireRole(c, "contractor");
      const asked = c.req.query("month");
      const month = asked && /^\d{4}-(0[1-9]|1[0-2])$/.test(asked) ? asked : tokyoDay(Date.now()).slice(0, 7);
      const contracts = await deps.contracts.list(user);
      const items = await Promise.all(
        contracts.map(async (contract) => ({
          contract,
          rows: await deps.settlements.hours(user, contract.id, month),
          settlements:
            contract.type === "juninin" && contract.band
              ? await deps.settlements.settle(user, contract.id, month)
              : null,
          tasks: await deps.settlements.taskLines(user, contract.id, month),
        })),
      );
      return render(c, <MonthHours c={c} month={month} items={items} />);
    });
}
