// Contractor and lead: the contracts they see, one contract's progress and critical path, and the WBS upload
// that shows a refused file's problems row by row.
import { Hono } from "hono";
import { raw } from "hono/html";
import type { User } from "../../domain/accounts/accounts.service.ts";
import { NewContract } from "../../domain/contracts/contract-input.ts";
import { type Contract, confidentialityLevels, contractTypes } from "../../domain/contracts/contracts.service.ts";
import type { Office } from "../../domain/offices/offices.service.ts";
import { type PackageState, packageStates } from "../../domain/packages/lifecycle.ts";
import type { WorkPackage } from "../../domain/packages/packages.service.ts";
import type { ContractPlan } from "../../domain/packages/plan.ts";
import { plannedBy, tokyoToday } from "../../domain/packages/timeline.ts";
import { AppError, type FieldProblem, fail, sayName } from "../../kernel/errors.ts";
import { say, type Text, text, wbsField } from "../../kernel/messages.ts";
import { hm } from "../i18n/i18n.ts";
import { CsrfField, DataTable, FieldErrors, Layout, Notice, TableHead } from "../layout.tsx";
import { progressSvg } from "../progress-chart.ts";
import {
  issueProblems,
  problemsOf,
  render,
  requireRole,
  sayError,
  type WebContext,
  type WebDeps,
  type WebEnv,
} from "../web-env.ts";

/** One problem of a refused WBS, split into its row and field ("row 4 estimate" → 4, "estimate"). */
export interface RowError {
  row: number | null;
  field: string;
  message: string;
  text?: Text;
}

/** Reads the import's field paths (`row 4 estimate`, `row 7`, `file`) back into rows and fields. */
export function rowErrors(fields: FieldProblem[]): RowError[] {
  return fields.map(({ path, message, text }) => {
    const m = /^row (\d+)(?: (.+))?$/.exec(path);
    const said = text ? { text } : {};
    return m
      ? { row: Number(m[1]), field: m[2] ?? "", message, ...said }
      : { row: null, field: path, message, ...said };
  });
}

const hours = hm;

function ContractList({ c, contracts }: { c: WebContext; contracts: Contract[] }) {
  const t = c.get("t");
  return (
    <Layout c={c} title={t("contracts.title")}>
      {c.get("user")?.role === "contractor" ? (
        <p>
          <a class="button" href="/contracts/new">
            {t("contracts.new")}
          </a>
        </p>
      ) : null}
      <DataTable
        empty={t("contracts.empty")}
        count={contracts.length}
        cols={[
          t("common.title"),
          t("contracts.client"),
          t("contracts.type"),
          t("contracts.confidentiality"),
          t("contracts.period"),
        ]}
      >
        {contracts.map((k) => (
          <tr>
            <td>
              <a href={`/contracts/${k.id}`}>{k.title}</a>
            </td>
            <td>{k.client}</td>
            <td>{t(`contract.type.${k.type}`)}</td>
            <td>{t(`confidentiality.${k.confidentiality}`)}</td>
            <td>
              {k.periodStart} – {k.periodEnd}
            </td>
          </tr>
        ))}
      </DataTable>
    </Layout>
  );
}

/** The contract form's fields as the API's NewContract takes them: empty fields left out, figures as numbers. */
export function contractInput(form: Record<string, string | File | (string | File)[]>): Record<string, unknown> {
  const text = (name: string) => {
    const v = form[name];
    return typeof v === "string" && v.trim() ? v.trim() : undefined;
  };
  const figure = (name: string) => {
    const v = text(name);
    return v === undefined ? undefined : Number(v);
  };
  const leads = form["leadIds[]"] ?? form.leadIds;
  const input: Record<string, unknown> = {
    client: text("client") ?? "",
    title: text("title") ?? "",
    type: text("type"),
    confidentiality: text("confidentiality"),
    budgetYen: figure("budgetYen"),
    periodStart: text("periodStart") ?? "",
    periodEnd: text("periodEnd") ?? "",
    leadIds: (Array.isArray(leads) ? leads : leads ? [leads] : []).filter((l) => typeof l === "string"),
  };
  const mode = text("officeRuleMode");
  if (mode === "preferred" || mode === "required") {
    const offices = form["officeIds[]"] ?? form.officeIds;
    input.officeRule = {
      mode,
      officeIds: (Array.isArray(offices) ? offices : offices ? [offices] : []).filter((o) => typeof o === "string"),
      prefectures: (text("prefectures") ?? "")
        .split(/[,、，]/)
        .map((p) => p.trim())
        .filter(Boolean),
    };
  }
  const office = text("hostOffice");
  const zone = text("hostZone");
  if (office || zone) input.hostLabels = { office, zone };
  if (input.type === "juninin") {
    input.band = {
      monthlyFeeYen: figure("monthlyFeeYen"),
      minHours: figure("minHours"),
      maxHours: figure("maxHours"),
      overRateYen: figure("overRateYen"),
      underRateYen: figure("underRateYen"),
    };
  }
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
}

/** The contract form's office rule: none, preferred or required, for offices or prefectures. */
function OfficeRuleFields({ c, offices }: { c: WebContext; offices: Office[] }) {
  const t = c.get("t");
  return (
    <fieldset>
      <legend>{t("contracts.officeRule")}</legend>
      <p class="hint">{t("contracts.officeRuleHint")}</p>
      <label>
        {t("contracts.officeRuleMode")}
        <select name="officeRuleMode">
          <option value="">{t("contracts.officeRuleNone")}</option>
          <option value="preferred">{t("contracts.officeRulePreferred")}</option>
          <option value="required">{t("contracts.officeRuleRequired")}</option>
        </select>
      </label>
      <fieldset>
        <legend>{t("contracts.officeRuleOffices")}</legend>
        {offices.map((o) => (
          <label class="check">
            <input type="checkbox" name="officeIds" value={o.id} /> {o.name}（{o.prefecture} {o.town}）
          </label>
        ))}
      </fieldset>
      <label>
        {t("contracts.officeRulePrefectures")}
        <input type="text" name="prefectures" maxlength={400} />
      </label>
    </fieldset>
  );
}

function NewContractForm({
  c,
  leads,
  offices,
  fields,
}: {
  c: WebContext;
  leads: User[];
  offices: Office[];
  fields?: { path: string; message: string }[];
}) {
  const t = c.get("t");
  const number = (name: string, label: string) => (
    <label>
      {label}
      <input type="number" name={name} min={0} step="any" inputmode="numeric" />
    </label>
  );
  return (
    <Layout c={c} title={t("contracts.new")}>
      {fields ? <FieldErrors c={c} fields={fields} /> : null}
      <form method="post" action="/contracts" class="stack card">
        <CsrfField c={c} />
        <label>
          {t("common.title")}
          <input type="text" name="title" required maxlength={200} />
        </label>
        <label>
          {t("contracts.client")}
          <input type="text" name="client" required maxlength={200} />
        </label>
        <label>
          {t("contracts.type")}
          <select name="type">
            {contractTypes.map((type) => (
              <option value={type}>{t(`contract.type.${type}`)}</option>
            ))}
          </select>
        </label>
        <label>
          {t("contracts.confidentiality")}
          <select name="confidentiality">
            {confidentialityLevels.map((level) => (
              <option value={level}>{t(`confidentiality.${level}`)}</option>
            ))}
          </select>
        </label>
        {number("budgetYen", t("contracts.budget"))}
        <label>
          {t("contracts.periodStart")}
          <input type="date" name="periodStart" required />
        </label>
        <label>
          {t("contracts.periodEnd")}
          <input type="date" name="periodEnd" required />
        </label>
        <fieldset>
          <legend>{t("contracts.leads")}</legend>
          {leads.length === 0 ? <p class="hint">{t("contracts.noLeads")}</p> : null}
          {leads.map((lead) => (
            <label class="check">
              <input type="checkbox" name="leadIds" value={lead.id} /> {lead.name} ({lead.email})
            </label>
          ))}
        </fieldset>
        <fieldset>
          <legend>{t("contracts.band")}</legend>
          {number("monthlyFeeYen", t("contracts.monthlyFeeYen"))}
          {number("minHours", t("contracts.minHours"))}
          {number("maxHours", t("contracts.maxHours"))}
          {number("overRateYen", t("contracts.overRateYen"))}
          {number("underRateYen", t("contracts.underRateYen"))}
        </fieldset>
        <OfficeRuleFields c={c} offices={offices} />
        <fieldset>
          <legend>{t("contracts.hostLabels")}</legend>
          <p class="hint">{t("contracts.hostLabelsHint")}</p>
          <label>
            {t("contracts.hostOffice")}
            <input type="text" name="hostOffice" maxlength={100} />
          </label>
          <label>
            {t("contracts.hostZone")}
            <input type="text" name="hostZone" maxlength={100} />
          </label>
        </fieldset>
        <button type="submit">{t("contracts.new")}</button>
      </form>
    </Layout>
  );
}

function WbsErrors({ c, errors }: { c: WebContext; errors: RowError[] }) {
  const t = c.get("t");
  const reader = { lang: c.get("lang") };
  return (
    <div class="notice notice-error" role="alert" id="wbs-errors">
      <p>{t("wbs.refused")}</p>
      <table>
        <TableHead cols={[t("wbs.row"), t("common.field"), t("common.message")]} />
        <tbody>
          {errors.map((e) => (
            <tr>
              <td class="num">{e.row ?? t("wbs.wholeFile")}</td>
              <td>{e.field ? sayName(reader, wbsField(e.field)) : ""}</td>
              <td>{e.text ? say(reader, e.text) : e.message}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Packages and hours by state beside what the plan says should be finished by today (planned vs. accepted). */
function ProgressAgainstPlan({
  c,
  contract,
  packages,
  plan,
}: {
  c: WebContext;
  contract: Contract;
  packages: WorkPackage[];
  plan: ContractPlan;
}) {
  const t = c.get("t");
  const byState = new Map<PackageState, { count: number; hours: number }>();
  for (const p of packages) {
    if (p.state === "cancelled") continue;
    const s = byState.get(p.state) ?? { count: 0, hours: 0 };
    byState.set(p.state, { count: s.count + 1, hours: s.hours + p.estimateHours });
  }
  const estimates = new Map(packages.map((p) => [p.id, p.estimateHours]));
  const planned = plannedBy(contract.periodStart, plan, estimates, tokyoToday());
  const accepted = byState.get("accepted") ?? { count: 0, hours: 0 };
  return (
    <div class="progress-chart" id="progress-chart">
      {raw(progressSvg({ byState, planned, t }))}
      <div>
        <p id="progress-planned">
          {t("contract.progressPlanned", { count: planned.count, hours: hours(planned.hours) })}
        </p>
        <p id="progress-accepted">
          {t("contract.progressAccepted", { count: accepted.count, hours: hours(accepted.hours) })}
        </p>
        <p class="hint">{t("contract.progressLegend")}</p>
      </div>
    </div>
  );
}

function ContractDetail({
  c,
  contract,
  packages,
  plan,
  officeNames,
  errors,
  imported,
}: {
  c: WebContext;
  contract: Contract;
  packages: WorkPackage[];
  plan: ContractPlan;
  officeNames: ReadonlyMap<string, string>;
  errors?: RowError[];
  imported?: number;
}) {
  const t = c.get("t");
  const byId = new Map(packages.map((p) => [p.id, p]));
  const scheduled = new Map(plan.packages.map((p) => [p.id, p]));
  const totalHours = packages.reduce((sum, p) => sum + p.estimateHours, 0);
  const states = packageStates
    .map((state) => {
      const inState = packages.filter((p) => p.state === state);
      return { state, count: inState.length, hours: inState.reduce((sum, p) => sum + p.estimateHours, 0) };
    })
    .filter((s) => s.count > 0);
  return (
    <Layout c={c} title={contract.title}>
      {imported !== undefined ? <Notice kind="ok">{t("wbs.imported", { count: imported })}</Notice> : null}
      {c.req.query("notice") === "created" ? <Notice kind="ok">{t("contracts.created")}</Notice> : null}
      {errors ? <WbsErrors c={c} errors={errors} /> : null}
      <section aria-labelledby="facts">
        <h2 id="facts" class="visually-hidden">
          {contract.title}
        </h2>
        <dl class="facts">
          <dt>{t("contracts.client")}</dt>
          <dd>{contract.client}</dd>
          <dt>{t("contracts.type")}</dt>
          <dd>{t(`contract.type.${contract.type}`)}</dd>
          <dt>{t("contracts.confidentiality")}</dt>
          <dd>
            {t(`confidentiality.${contract.confidentiality}`)}
            {contract.confidentiality === "restricted" ? <p>{t("contracts.restrictedSsh")}</p> : null}
          </dd>
          <dt>{t("contracts.period")}</dt>
          <dd>
            {contract.periodStart} – {contract.periodEnd}
          </dd>
          <dt>{t("contracts.maxPackageHours")}</dt>
          <dd>{t("common.hours", { hours: hm(contract.maxPackageHours) })}</dd>
          <dt>{t("contracts.officeRule")}</dt>
          <dd id="office-rule">
            {contract.officeRule
              ? t("contracts.officeRuleIs", {
                  mode: t(
                    contract.officeRule.mode === "required"
                      ? "contracts.officeRuleRequired"
                      : "contracts.officeRulePreferred",
                  ),
                  allowed: [
                    ...contract.officeRule.prefectures,
                    ...contract.officeRule.officeIds.map((id) => officeNames.get(id) ?? id),
                  ].join(t("common.listSeparator")),
                })
              : t("contracts.officeRuleNone")}
          </dd>
          <dt>{t("contracts.hostLabels")}</dt>
          <dd id="host-labels">
            {Object.entries(contract.hostLabels)
              .map(([label, value]) => `${label}=${value}`)
              .join(", ") || t("contracts.anyHost")}
          </dd>
        </dl>
      </section>

      <section aria-labelledby="progress">
        <h2 id="progress">{t("contract.progress")}</h2>
        {states.length === 0 ? (
          <p>{t("contract.noPackages")}</p>
        ) : (
          <ProgressAgainstPlan c={c} contract={contract} packages={packages} plan={plan} />
        )}
        {states.length === 0 ? null : (
          <div class="progress">
            {states.map((s) => (
              <>
                <span class={`badge state-${s.state}`}>{t(`state.${s.state}`)}</span>
                <progress max={totalHours} value={s.hours} aria-label={t(`state.${s.state}`)} />
                <span>{t("contract.progressHours", { count: s.count, hours: hours(s.hours) })}</span>
              </>
            ))}
          </div>
        )}
      </section>

      <section aria-labelledby="critical">
        <h2 id="critical">{t("contract.criticalPath")}</h2>
        {plan.criticalPath.length === 0 ? (
          <p>{t("contract.noPackages")}</p>
        ) : (
          <>
            <ol class="path" id="critical-path">
              {plan.criticalPath.map((step) => (
                <li>
                  <a href={`/packages/${step.id}`}>
                    {step.wbsId} {byId.get(step.id)?.title}
                  </a>
                </li>
              ))}
            </ol>
            <p class="hint">{t("contract.criticalPathTotal", { hours: hours(plan.totalHours) })}</p>
            <p>
              <a class="button" href={`/contracts/${contract.id}/plan`} id="plan-chart">
                {t("contract.planChart")}
              </a>
            </p>
          </>
        )}
      </section>

      <p>
        <a href={`/contracts/${contract.id}/task-batches`} id="task-batches">
          {t("contract.taskBatches")}
        </a>
      </p>

      <section aria-labelledby="upload">
        <h2 id="upload">{t("wbs.title")}</h2>
        <form method="post" action={`/contracts/${contract.id}/wbs`} enctype="multipart/form-data" class="row">
          <CsrfField c={c} />
          <label>
            {t("wbs.file")}
            <input type="file" name="file" required accept=".csv,.tsv,.txt,.xlsx,.json,.yaml,.yml" />
          </label>
          <button type="submit">{t("wbs.submit")}</button>
        </form>
        <p class="hint">{t("wbs.hint")}</p>
      </section>

      <h2 id="packages">{t("contract.packages")}</h2>
      <DataTable
        empty={t("contract.noPackages")}
        labelledBy="packages"
        count={packages.length}
        cols={[
          t("contract.wbsId"),
          t("common.title"),
          { label: t("contract.estimate"), num: true },
          t("common.state"),
          { label: t("contract.slack"), num: true },
        ]}
      >
        {packages.map((p) => {
          const s = scheduled.get(p.id);
          return (
            <tr>
              <td>{p.wbsId}</td>
              <td>
                <a href={`/packages/${p.id}`}>{p.title}</a>{" "}
                {s?.critical ? <span class="badge critical">{t("contract.critical")}</span> : null}{" "}
                {p.oversized ? <span class="badge bad">{t("contract.oversized")}</span> : null}
              </td>
              <td class="num">{t("common.hours", { hours: hours(p.estimateHours) })}</td>
              <td>
                <span class={`badge state-${p.state}`}>{t(`state.${p.state}`)}</span>
              </td>
              <td class="num">{s ? t("common.hours", { hours: hours(s.slackHours) }) : ""}</td>
            </tr>
          );
        })}
      </DataTable>
    </Layout>
  );
}

/** Contract pages for the tenant's contractors and the contract's leads. */
export function contractPages(deps: WebDeps) {
  const load = async (c: WebContext, id: string) => {
    const user = requireRole(c, "contractor", "lead");
    const contract = await deps.contracts.get(user, id);
    const [packages, plan, offices] = await Promise.all([
      deps.packages.listByContract(user, id),
      deps.packages.plan(user, id),
      contract.officeRule ? deps.offices.list(user) : [],
    ]);
    return { contract, packages, plan, officeNames: new Map(offices.map((o) => [o.id, o.name])) };
  };

  const leadsOf = async (c: WebContext) => {
    const user = requireRole(c, "contractor");
    return (await deps.accounts.list(user)).filter((u) => u.role === "lead");
  };
  const formFor = async (c: WebContext, fields?: { path: string; message: string }[]) => {
    const user = requireRole(c, "contractor");
    const [leads, offices] = await Promise.all([leadsOf(c), deps.offices.list(user)]);
    return <NewContractForm c={c} leads={leads} offices={offices} fields={fields} />;
  };

  return new Hono<WebEnv>()
    .get("/contracts/new", async (c) => render(c, await formFor(c)))
    .post("/contracts", async (c) => {
      const user = requireRole(c, "contractor");
      const parsed = NewContract.safeParse(contractInput(await c.req.parseBody()));
      let fields: { path: string; message: string }[];
      if (parsed.success) {
        try {
          const contract = await deps.contracts.create(user, parsed.data);
          return c.redirect(`/contracts/${contract.id}?notice=created`, 303);
        } catch (err) {
          if (!(err instanceof AppError) || err.code !== "VALIDATION") throw err;
          fields = problemsOf(c, err, "body");
        }
      } else {
        fields = issueProblems(c, parsed.error.issues);
      }
      return render(c, await formFor(c, fields), 400);
    })
    .get("/contracts", async (c) => {
      const user = requireRole(c, "contractor", "lead");
      return render(c, <ContractList c={c} contracts={await deps.contracts.list(user)} />);
    })
    .get("/contracts/:id", async (c) => {
      const data = await load(c, c.req.param("id"));
      const imported = c.req.query("imported");
      return render(
        c,
        <ContractDetail c={c} {...data} imported={imported && /^\d+$/.test(imported) ? Number(imported) : undefined} />,
      );
    })
    .post("/contracts/:id/wbs", async (c) => {
      const user = requireRole(c, "contractor", "lead");
      const id = c.req.param("id");
      const form = await c.req.parseBody();
      const file = form.file;
      let errors: RowError[];
      if (!(file instanceof File) || file.size === 0) {
        errors = [{ row: null, field: "file", message: c.get("t")("common.required") }];
      } else if (file.size > deps.wbsLimit) {
        throw fail("PAYLOAD_TOO_LARGE", text("wbs.tooLarge", { bytes: deps.wbsLimit }));
      } else {
        try {
          const result = await deps.wbs.import(user, id, {
            bytes: new Uint8Array(await file.arrayBuffer()),
            filename: file.name,
            contentType: file.type || undefined,
          });
          return c.redirect(`/contracts/${id}?imported=${result.packages.length}`, 303);
        } catch (err) {
          if (!(err instanceof AppError) || err.code !== "VALIDATION") throw err;
          const fields = (err.details?.fields as FieldProblem[] | undefined) ?? [
            { path: "file", message: sayError(c, err) },
          ];
          errors = rowErrors(fields);
        }
      }
      return render(c, <ContractDetail c={c} {...(await load(c, id))} errors={errors} />, 400);
    });
}
