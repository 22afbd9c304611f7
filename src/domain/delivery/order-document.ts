// The order document (発注書) of an assignment: the terms the Subcontract Act requires in writing
// (parties, order date, deliverable, delivery date and place, inspection, price, payment date and method),
// as one HTML page that prints on A4.
import { createHash } from "node:crypto";
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
const yen = (n: number) => `${new Intl.NumberFormat("ja-JP").format(Math.round(n))}円`;
const jaDate = (day: string) => {
  const [y, m, d] = day.split("-").map(Number);
  return `${y}年${m}月${d}日`;
};

export interface OrderTerms {
  orderNumber: string;
  orderDate: string;
  buyer: string;
  supplier: { name: string; email: string; invoiceNumber: string | null };
  contract: { title: string; client: string; type: string };
  deliverable: { wbsId: string; title: string; acceptanceCriteria: string; estimateHours: number };
  deliveryDate: string;
  deliveryPlace: string;
  inspection: string;
  price: string;
  paymentDate: string;
  paymentMethod: string;
}

/** The terms of an assignment, for its engineer, the people who see its contract, and operators. */
export async function orderTerms(db: Kysely<Database>, actor: Actor, assignmentId: string): Promise<OrderTerms> {
  const a = await db
    .selectFrom("assignment")
    .innerJoin("work_package", "work_package.id", "assignment.package_id")
    .innerJoin("contract", "contract.id", "work_package.contract_id")
    .innerJoin("tenant", "tenant.id", "contract.tenant_id")
    .innerJoin("user", "user.id", "assignment.engineer_id")
    .leftJoin("engineer_profile", "engineer_profile.user_id", "assignment.engineer_id")
    .select([
      "assignment.id",
      "assignment.engineer_id",
      "assignment.started_at",
      "work_package.wbs_id",
      "work_package.title as package_title",
      "work_package.acceptance_criteria",
      "work_package.estimate_hours",
      "contract.id as contract_id",
      "contract.title as contract_title",
      "contract.client",
      "contract.type",
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
      "user.name as engineer_name",
      "user.email as engineer_email",
      "engineer_profile.invoice_number",
    ])
    .where("assignment.id", "=", assignmentId)
    .executeTakeFirst();
  if (!a) throw notFound("assignment");
  const mayRead =
    actor.kind === "system" ||
    actor.role === "operator" ||
    (actor.role === "engineer" && actor.userId === a.engineer_id) ||
    ((actor.role === "lead" || actor.role === "contractor") && (await seesContract(db, actor, a.contract_id)));
  if (!mayRead) throw notFound("assignment");

  const days = Math.min(a.payment_terms_days ?? MAX_PAYMENT_DAYS, MAX_PAYMENT_DAYS);
  const hours = Number(a.estimate_hours);
  const ukeoi = a.type === "ukeoi";
  const price = ukeoi
    ? a.hourly_rate_yen != null
      ? `${yen(hours * Number(a.hourly_rate_yen))}（見積工数 ${hours} 時間 × 単価 ${yen(Number(a.hourly_rate_yen))}、消費税別）`
      : `見積工数 ${hours} 時間 × 契約単価（単価は別途書面で定める）`
    : `月額 ${yen(Number(a.monthly_fee_yen))}（精算幅 ${a.band_min_hours}〜${a.band_max_hours} 時間）。` +
      `上限超過 1 時間あたり ${yen(Number(a.over_rate_yen))} を加算、下限未満 1 時間あたり ${yen(Number(a.under_rate_yen))} を控除。` +
      `時間は承認済みタイムシートによる（端数処理: ${a.hours_rounding ?? "none"}）。消費税別`;
  return {
    orderNumber: `AZ-${a.id.slice(0, 8).toUpperCase()}`,
    orderDate: tokyoDay(Date.parse(a.started_at)),
    buyer: a.tenant_name,
    supplier: { name: a.engineer_name, email: a.engineer_email, invoiceNumber: a.invoice_number ?? null },
    contract: { title: a.contract_title, client: a.client, type: ukeoi ? "請負" : "準委任" },
    deliverable: {
      wbsId: a.wbs_id,
      title: a.package_title,
      acceptanceCriteria: a.acceptance_criteria,
      estimateHours: hours,
    },
    deliveryDate: ukeoi
      ? jaDate(a.period_end)
      : `役務提供期間: ${jaDate(tokyoDay(Date.parse(a.started_at)))}〜${jaDate(a.period_end)}`,
    deliveryPlace: "Azusa 上の当該作業パッケージの正本リポジトリ（プルリクエストのマージをもって受領）",
    inspection: ukeoi
      ? `納品日から ${INSPECTION_DAYS} 日以内に受入基準に基づき検収する`
      : "各週のタイムシートを翌週中に確認・承認する",
    paymentDate: ukeoi
      ? `納品日（受領日）から起算して ${days} 日以内`
      : "毎月末締め、翌月末払い（役務提供月の末日から起算して60日以内）",
    price,
    paymentMethod: "銀行振込（振込手数料は発注者負担）",
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
<title>発注書 ${escapeHtml(t.orderNumber)}</title>
<style>${ORDER_STYLE}</style>
</head>
<body>
<h1>発注書</h1>
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
${row("見積工数", `${t.deliverable.estimateHours} 時間`)}
${row("納期", t.deliveryDate)}
${row("納入場所", t.deliveryPlace)}
${row("検査（検収）完了期日", t.inspection)}
${row("下請代金の額（算定方法）", t.price)}
${row("支払期日", t.paymentDate)}
${row("支払方法", t.paymentMethod)}
</table>
<p class="note">本書は下請代金支払遅延等防止法第3条に定める書面として交付するものです。支払期日は給付の受領日から起算して60日を超えません。</p>
</body>
</html>
`;
}
