import type { Executor } from "../../db/schema.ts";
import { fail, invalidField } from "../../kernel/errors.ts";
import { text } from "../../kernel/messages.ts";

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

/** Refuses anything but YYYY-MM with a month 01 to 12 (VALIDATION naming `month`). */
export function checkMonth(month: string): string {
  if (!MONTH.test(month)) throw invalidField("month", text("month.format"));
  return month;
}

/** Which of `months` (YYYY-MM) the contractor has closed on the contract. */
export async function closedMonths(ex: Executor, contractId: string, months: readonly string[]): Promise<string[]> {
  if (months.length === 0) return [];
  const rows = await ex
    .selectFrom("settlement_close")
    .select("month")
    .where("contract_id", "=", contractId)
    .where("month", "in", [...new Set(months)])
    .orderBy("month")
    .execute();
  return rows.map((r) => r.month);
}

/** INVALID_STATE naming the months when any of `months` is closed on the contract. */
export async function refuseClosed(ex: Executor, contractId: string, months: readonly string[]): Promise<void> {
  const closed = await closedMonths(ex, contractId, months);
  if (closed.length) {
    throw fail(
      "INVALID_STATE",
      text(closed.length === 1 ? "month.closed" : "month.closedMany", { months: closed.join(", ") }),
      {
        closedMonths: closed,
      },
    );
  }
}
