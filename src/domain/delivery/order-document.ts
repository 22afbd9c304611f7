// The order document (発注書) of an assignment, or the draft of an offer: the terms the law in force on the order
// date requires to be stated (parties, order date, deliverable, delivery date and place, inspection, price, payment
// date and method), as one HTML page that prints on A4. The laws' names and words live in order-wording.json.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Kysely } from "kysely";
import type { Database } from "../../db/schema.ts";
import type { Actor } from "../../kernel/actor.ts";
import { notFound } from "../../kernel/errors.ts";
import { seesContract } from "../contracts/contracts.service.ts";
import { tokyoDay } from "../timesheets/time.ts";
import { MAX_PAYMENT_DAYS } from "./delivery.service.ts";

/** Days the contractor has to inspect a delivery; the order states it so the engineer knows. */
export const INSPECTION_DAYS = 10;

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch] ?? ch);
export const yen = (n: number) => `${new Intl.NumberFormat("ja-JP").format(Math.round(n))}円`;
export const jaDate = (day: string) => {
  const [y, m, d] = day.split("-").map(Number);
  return `${y}年${m}月${d}日`;
};

/** The laws an order names and their words, kept in order-wording.json so that they are corrected without code. */
interface LawWording {
  from: string;
  until: string | null;
  name: string;
  statement: string;
  paymentRule: string;
  priceLabel?: string;
}
interface OrderWording {
  subcontract: LawWording[];
  freelance: LawWording[];
  issued: string;
  joiner: string;
  draft: string;
}
const wording = JSON.parse(readFileSync(new URL("./order-wording.json", import.meta.url), "utf8")) as OrderWording;

const inForce = (laws: LawWording[], day: string) =>
  laws.find((l) => l.from <= day && (l.until === null || day <= l.until));

/**
 * The laws in force on the order date: the subcontract law of that day (下請法 until 2025-12-31, 取適法 from
 * 2026-01-01) and the Freelance Act, since an engineer takes orders as an individual.
 */
export function lawsOn(orderDate: string): { names: string[]; notes: string[]; priceLabel: string } {
  const laws = [inForce(wording.subcontract, orderDate), inForce(wording.freelance, orderDate)].filter(
    (l): l is LawWording => l !== undefined,
  );
  return {
    names: laws.map((l) => l.name),
    notes: laws.length
      ? [
          wording.issued.replace("{statements}", laws.map((l) => l.statement).join(wording.joiner)),
          ...laws.map((l) => l.paymentRule),
        ]
      : [],
    priceLabel: laws.find((l) => l.priceLabel)?.priceLabel ?? "代金の額（算定方法）",
  };
}

export interface OrderTerms {
  orderNumber: string;
  orderDate: string;
  /** An offer not yet accepted: the order as it will be, marked as a draft (案). */
  draft?: boolean;
  buyer: string;
  supplier: { name: string; email: string; invoiceNumber: string | null };
  contract: { title: string; client: string; type: string; periodStart: string; periodEnd: string };
  deliverable: { wbsId: string; title: string; acceptanceCriteria: string; estimateHours: number | null };
  deliveryDate: string;
  deliveryPlace: string;
  inspection: string;
  priceLabel: string;
  price: string;
  paymentDate: string;
  paymentMethod: string;
  /** The laws in force on the order date and what they require, for the foot of the page. */
  laws: string[];
  notes: string[];
}

/** The engineer an order is made to: their name, address and qualified-invoice registration number. */
export async function supplierOf(db: Kysely<Database>, userId: string): Promise<OrderTerms["supplier"]> {
  const person = await db
    .selectFrom("user")
    .leftJoin("engineer_profile", "engineer_profile.user_id", "user.id")
    .select(["user.name", "user.email", "engineer_profile.invoice_number"])
    .where("user.id", "=", userId)
    .executeTakeFirstOrThrow();
  return { name: person.name, email: person.email, invoiceNumber: person.invoice_number ?? null };
}

/** Which order: an assignment's, the current (or last) assignment's of a package, or an offer's (a draft until accepted). */
export type OrderOf = { assignmentId: string } | { packageId: string } | { offerId: string };

/** The terms of an order, for its engineer, the people who see its contract, and operators. */
export async function orderTerms(
  db: Kysely<Database>,
  actor: Actor,
  of: OrderOf,
  now: () => Date = () => new Date(),
): Promise<OrderTerms> {
  // An offer's order is its assignment's once accepted; before that, a draft dated today.
  let offer: { id: string; engineer_id: string; package_id: string } | undefined;
  let where: OrderOf = of;
  if ("offerId" in of) {
    offer = await db
      .selectFrom("offer")
      .select(["id", "engineer_id", "package_id"])
      .where("id", "=", of.offerId)
      .executeTakeFirst();
    if (!offer) throw notFound("offer");
    const assignment = await db
      .selectFrom("assignment")
      .select("id")
      .where("offer_id", "=", offer.id)
      .executeTakeFirst();
    if (assignment) where = { assignmentId: assignment.id };
  }
  let query = db
    .selectFrom("work_package")
    .innerJoin("contract", "contract.id", "work_package.contract_id")
    .innerJoin("tenant", "tenant.id", "contract.tenant_id")
    .select([
      "work_package.id as package_id",
      "work_package.wbs_id",
      "work_package.title as package_title",
      "work_package.acceptance_criteria",
      "work_package.estimate_hours",
      "contract.id as contract_id",
      "contract.title as contract_title",
      "contract.client",
      "contract.type",
      "contract.period_start",
      "contract.period_end",
      "contract.monthly_fee_yen",
      "contract.band_min_hours",
      "contract.band_max_hours",
      "contract.over_rate_yen",
      "contract.under_rate_yen",
      "contract.hourly_rate_yen",
      "contract.payment_terms_days",
      "contract.hours_rounding",
      "tenant.name as tenant_name",
    ]);
  let head: { id: string; engineer_id: string; started_at: string } | undefined;
  if ("offerId" in where && offer) {
    head = { id: offer.id, engineer_id: offer.engineer_id, started_at: now().toISOString() };
    query = query.where("work_package.id", "=", offer.package_id);
  } else {
    let assignments = db.selectFrom("assignment").select(["id", "engineer_id", "started_at", "package_id"]);
    if ("assignmentId" in where) assignments = assignments.where("id", "=", where.assignmentId);
    else if ("packageId" in where) {
      assignments = assignments.where("package_id", "=", where.packageId);
      // An engineer's order of a package is their own assignment's, even after another took it over.
      if (actor.kind === "user" && actor.role === "engineer")
        assignments = assignments.where("engineer_id", "=", actor.userId);
    }
    const a = await assignments.orderBy("started_at", "desc").executeTakeFirst();
    if (!a) throw notFound("assignment");
    head = a;
    query = query.where("work_package.id", "=", a.package_id);
  }
  const a = await query.executeTakeFirst();
  if (!a || !head) throw notFound("assignment");
  const mayRead =
    actor.kind === "system" ||
    actor.role === "operator" ||
    (actor.role === "engineer" && actor.userId === head.engineer_id) ||
    ((actor.role === "lead" || actor.role === "contractor") && (await seesContract(db, actor, a.contract_id)));
  if (!mayRead) throw notFound("assignment");
  const supplier = await supplierOf(db, head.engineer_id);
  const draft = offer !== undefined && head.id === offer.id;
  // Once delivered, the order states the day payment falls due rather than the rule that sets it.
  const delivered = draft
    ? undefined
    : await db
        .selectFrom("delivery")
        .select(["delivered_at", "payment_due_on"])
        .where("package_id", "=", a.package_id)
        .where("engineer_id", "=", head.engineer_id)
        .where((eb) => eb.or([eb("decision", "is", null), eb("decision", "=", "accepted")]))
        .orderBy("delivered_at", "desc")
        .executeTakeFirst();

  const days = Math.min(a.payment_terms_days ?? MAX_PAYMENT_DAYS, MAX_PAYMENT_DAYS);
  const hours = Number(a.estimate_hours);
  const ukeoi = a.type === "ukeoi";
  const orderDate = tokyoDay(Date.parse(head.started_at));
  const laws = lawsOn(orderDate);
  const price = ukeoi
    ? a.hourly_rate_yen != null
      ? `${yen(hours * Number(a.hourly_rate_yen))}（見積工数 ${hours} 時間 × 単価 ${yen(Number(a.hourly_rate_yen))}、消費税別）`
      : `見積工数 ${hours} 時間 × 契約単価（単価は別途書面で定める）`
    : `月額 ${yen(Number(a.monthly_fee_yen))}（精算幅 ${a.band_min_hours}〜${a.band_max_hours} 時間）。` +
      `上限超過 1 時間あたり ${yen(Number(a.over_rate_yen))} を加算、下限未満 1 時間あたり ${yen(Number(a.under_rate_yen))} を控除。` +
      `時間は承認済みタイムシートによる（端数処理: ${a.hours_rounding ?? "none"}）。消費税別`;
  const rule = `納品日（受領日）から起算して ${days} 日以内`;
  return {
    orderNumber: `AZ-${head.id.slice(0, 8).toUpperCase()}`,
    orderDate,
    draft,
    buyer: a.tenant_name,
    supplier,
    contract: {
      title: a.contract_title,
      client: a.client,
      type: ukeoi ? "請負" : "準委任",
      periodStart: a.period_start,
      periodEnd: a.period_end,
    },
    deliverable: {
      wbsId: a.wbs_id,
      title: a.package_title,
      acceptanceCriteria: a.acceptance_criteria,
      estimateHours: hours,
    },
    deliveryDate: ukeoi ? jaDate(a.period_end) : `役務提供期間: ${jaDate(orderDate)}〜${jaDate(a.period_end)}`,
    deliveryPlace: "Azusa 上の当該作業パッケージの正本リポジトリ（プルリクエストのマージをもって受領）",
    inspection: ukeoi
      ? `納品日から ${INSPECTION_DAYS} 日以内に受入基準に基づき検収する`
      : "各週のタイムシートを翌週中に確認・承認する",
    priceLabel: laws.priceLabel,
    paymentDate: !ukeoi
      ? "毎月末締め、翌月末払い（役務提供月の末日から起算して60日以内）"
      : delivered
        ? `${jaDate(delivered.payment_due_on)}（納品日 ${jaDate(tokyoDay(Date.parse(delivered.delivered_at)))} から起算して ${days} 日以内）`
        : rule,
    price,
    paymentMethod: "銀行振込（振込手数料は発注者負担）",
    laws: laws.names,
    notes: draft ? [wording.draft, ...laws.notes] : laws.notes,
  };
}

/** The order page's one style sheet, inline so that the page prints as it is saved. */
const ORDER_STYLE = `
  @page { size: A4; margin: 18mm 16mm; }
  body { font-family: "Noto Sans CJK JP", "Hiragino Kaku Gothic ProN", "Yu Gothic", sans-serif; color: #111; font-size: 10.5pt; line-height: 1.6; margin: 0 auto; max-width: 180mm; }
  h1 { text-align: center; letter-spacing: 0.6em; font-size: 20pt; margin: 0 0 8mm; }
  .meta { text-align: right; margin-bottom: 6mm; }
  .parties { display: flex; justify-content: space-between; gap: 8mm; margin-bottom: 6mm; }
  .parties div { flex: 1; border-bottom: 1px solid #111; padding-bottom: 2mm; }
  table { width: 100%; border-collapse: collapse; page-break-inside: avoid; }
  th, td { border: 1px solid #444; padding: 2mm 3mm; vertical-align: top; text-align: left; }
  th { width: 32%; background: #f1f1f1; font-weight: normal; white-space: nowrap; }
  td { white-space: pre-wrap; }
  .note { margin-top: 6mm; font-size: 9pt; color: #333; }
  @media screen { body { padding: 12mm 0; } }
  @media print { th { background: #eee !important; -webkit-print-color-adjust: exact; print-color-adjust: exact; } }
`;

/**
 * The order page's Content-Security-Policy: nothing but its own inline style sheet (named by its hash), no script,
 * no form, no frame around it. The page shows names and titles that its readers did not write.
 */
export const ORDER_CSP = `default-src 'none'; style-src 'sha256-${createHash("sha256").update(ORDER_STYLE).digest("base64")}'; img-src data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'`;

/** The order as a printable Japanese HTML page. */
export function renderOrder(t: OrderTerms): string {
  const row = (label: string, value: string) => `<tr><th>${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`;
  return `<!doctype html>
<html lang="ja">
<head>
<meta charset="utf-8">
<title>${t.draft ? "発注書（案）" : "発注書"} ${escapeHtml(t.orderNumber)}</title>
<style>${ORDER_STYLE}</style>
</head>
<body>
<h1>${t.draft ? "発注書（案）" : "発注書"}</h1>
<div class="meta">発注番号 ${escapeHtml(t.orderNumber)}<br>発注日 ${escapeHtml(jaDate(t.orderDate))}</div>
<div class="parties">
  <div>受注者<br><strong>${escapeHtml(t.supplier.name)} 様</strong><br>${escapeHtml(t.supplier.email)}${
    t.supplier.invoiceNumber ? `<br>登録番号 ${escapeHtml(t.supplier.invoiceNumber)}` : ""
  }</div>
  <div>発注者<br><strong>${escapeHtml(t.buyer)}</strong></div>
</div>
<p>下記のとおり発注いたします。</p>
<table>
${row("案件（契約）", `${t.contract.title}（${t.contract.client}）`)}
${row("契約形態", t.contract.type)}
${row("給付の内容", `${t.deliverable.wbsId} ${t.deliverable.title}`)}
${row("受入基準", t.deliverable.acceptanceCriteria || "（別紙 WBS のとおり）")}
${t.deliverable.estimateHours === null ? "" : row("見積工数", `${t.deliverable.estimateHours} 時間`)}
${row("納期", t.deliveryDate)}
${row("納入場所", t.deliveryPlace)}
${row("検査（検収）完了期日", t.inspection)}
${row(t.priceLabel, t.price)}
${row("支払期日", t.paymentDate)}
${row("支払方法", t.paymentMethod)}
</table>
${t.laws.length ? `<p class="note">適用法令: ${t.laws.map(escapeHtml).join("、")}</p>` : ""}
${t.notes.map((n) => `<p class="note">${escapeHtml(n)}</p>`).join("\n")}
</body>
</html>
`;
}
