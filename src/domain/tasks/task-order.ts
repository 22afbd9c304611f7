// The order document (発注書) of a keyer's unit-priced task work: the batch as the deliverable, the unit price and how
// accepted items are counted as the price, with the same laws, payment rule and page as a work package's order.
import { createHash } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database } from "../../db/schema.ts";
import type { Actor } from "../../kernel/actor.ts";
import { fail, notFound } from "../../kernel/errors.ts";
import { text } from "../../kernel/messages.ts";
import { visibleContracts } from "../contracts/contracts.service.ts";
import { INSPECTION_DAYS, jaDate, lawsOn, type OrderTerms, supplierOf, yen } from "../delivery/order-document.ts";
import { tokyoDay } from "../timesheets/time.ts";

/**
 * The terms of `keyerId`'s order for batch `batchId`, dated the day they were made its keyer. For the keyer, the people
 * who see the batch's contract and operators; anyone else, and a user who is not the batch's keyer, NOT_FOUND. A batch
 * without a unit price is paid by hours (準委任, timesheets) and has no such order: INVALID_STATE.
 */
export async function taskOrderTerms(
  db: Kysely<Database>,
  actor: Actor,
  batchId: string,
  keyerId: string,
): Promise<OrderTerms> {
  const b = await db
    .selectFrom("task_batch")
    .innerJoin("task_keyer", "task_keyer.batch_id", "task_batch.id")
    .innerJoin("contract", "contract.id", "task_batch.contract_id")
    .innerJoin("tenant", "tenant.id", "contract.tenant_id")
    .select([
      "task_batch.title",
      "task_batch.unit_price_yen",
      "task_batch.fields",
      "task_keyer.added_at",
      "contract.id as contract_id",
      "contract.title as contract_title",
      "contract.client",
      "contract.period_start",
      "contract.period_end",
      "tenant.name as tenant_name",
    ])
    .where("task_batch.id", "=", batchId)
    .where("task_keyer.user_id", "=", keyerId)
    .executeTakeFirst();
  const mayRead =
    b !== undefined &&
    (actor.kind === "system" ||
      actor.role === "operator" ||
      (actor.role === "engineer" && actor.userId === keyerId) ||
      ((actor.role === "lead" || actor.role === "contractor") &&
        (await visibleContracts(db, actor)
          .select("contract.id")
          .where("contract.id", "=", b.contract_id)
          .executeTakeFirst()) !== undefined));
  if (!b || !mayRead) throw notFound("taskBatch");
  if (b.unit_price_yen == null) throw fail("INVALID_STATE", text("tasks.noUnitPrice"));
  const orderDate = tokyoDay(Date.parse(b.added_at));
  const laws = lawsOn(orderDate);
  const fields = (JSON.parse(b.fields) as { name: string }[]).map((f) => f.name).join("、");
  return {
    orderNumber: `AZ-T${createHash("sha256").update(`${batchId}:${keyerId}`).digest("hex").slice(0, 7).toUpperCase()}`,
    orderDate,
    buyer: b.tenant_name,
    supplier: await supplierOf(db, keyerId),
    contract: {
      title: b.contract_title,
      client: b.client,
      type: "請負",
      periodStart: b.period_start,
      periodEnd: b.period_end,
    },
    deliverable: {
      wbsId: "タスク作業",
      title: `${b.title}（各項目の ${fields} の入力）`,
      acceptanceCriteria:
        "二重入力で、もう一人の入力者の入力と一致した項目、または食い違いの判定でその入力が採られた項目を検収済みとする",
      estimateHours: null,
    },
    deliveryDate: `各項目の入力の送信時（作業期間: ${jaDate(orderDate)}〜${jaDate(b.period_end)}）`,
    deliveryPlace: "Azusa 上の当該タスクバッチ（入力画面からの送信をもって受領）",
    inspection: `送信から ${INSPECTION_DAYS} 日以内に、二重入力の照合または判定により検収する`,
    priceLabel: laws.priceLabel,
    price: `1 件あたり ${yen(Number(b.unit_price_yen))} × 検収された件数（消費税別）`,
    paymentDate: "毎月末締め、翌月末払い（検収日から起算して60日以内）",
    paymentMethod: "銀行振込（振込手数料は発注者負担）",
    laws: laws.names,
    notes: laws.notes,
  };
}
