// A lead deciding disputed task items: both entries side by side with the source, field by field, and a form
// made for the keyboard. Fields where the entries agree come filled in; the first where they differ has the
// focus; Enter decides with what the form holds, and a button takes either entry whole. Individual numbers are
// shown in full here (and only here besides the keyer's own form); each showing and each decision is audited
// by the service, and the browser keeps no copy of the page.
import { Hono } from "hono";
import type { TaskField } from "../../domain/tasks/field-values.ts";
import { AppError, type FieldProblem } from "../../kernel/errors.ts";
import { CsrfField, DataTable, Layout } from "../layout.tsx";
import { formText, problemsOf, render, requireRole, type WebContext, type WebDeps, type WebEnv } from "../web-env.ts";
import { FieldInput, type ShownDocument, TaskItemPage } from "./task-item.tsx";

type Dispute = Awaited<ReturnType<WebDeps["taskEntries"]["adjudication"]>>;

function DisputePage({
  c,
  batchId,
  dispute,
  document,
  notice,
  keyed,
  fields,
}: {
  c: WebContext;
  batchId: string;
  dispute: Dispute | null;
  document?: ShownDocument;
  notice?: string;
  keyed?: Record<string, string>;
  fields?: FieldProblem[];
}) {
  const t = c.get("t");
  const wrong = new Set(fields?.map((f) => f.path));
  const [a, b] = dispute?.entries ?? [];
  const differs = (field: TaskField) => (a?.values[field.name] ?? "") !== (b?.values[field.name] ?? "");
  const filled = (field: TaskField) =>
    keyed ? (keyed[field.name] ?? "") : differs(field) ? "" : (a?.values[field.name] ?? "");
  const focus = dispute?.fields.find((f) => wrong.has(f.name)) ?? dispute?.fields.find(differs) ?? dispute?.fields[0];
  return (
    <TaskItemPage
      c={c}
      title={t("disputes.title")}
      notice={notice}
      fields={fields}
      item={dispute && a && b ? dispute : null}
      document={document}
      card={{ id: "decide", heading: t("disputes.decide"), hint: t("disputes.keys") }}
      nothingLeft={t("disputes.none")}
      back={{ href: "/task-disputes", label: t("disputes.back") }}
    >
      {dispute && a && b ? (
        <form method="post" action={`/task-disputes/${batchId}`} autocomplete="off">
          <CsrfField c={c} />
          <input type="hidden" name="itemId" value={dispute.itemId} />
          <table id="entries">
            <thead>
              <tr>
                <th scope="col">{t("disputes.field")}</th>
                <th scope="col">{t("disputes.entry", { n: 1, name: a.name })}</th>
                <th scope="col">{t("disputes.entry", { n: 2, name: b.name })}</th>
                <th scope="col">{t("disputes.accepted")}</th>
              </tr>
            </thead>
            <tbody>
              {dispute.fields.map((field, i) => (
                <tr class={differs(field) ? "differs" : undefined}>
                  <th scope="row">
                    <label for={`f${i}`}>
                      {field.name}
                      {field.required ? t("tasks.required") : ""}
                    </label>
                    {differs(field) ? <span class="badge">{t("disputes.differs")}</span> : null}
                  </th>
                  <td>{a.values[field.name] ?? ""}</td>
                  <td>{b.values[field.name] ?? ""}</td>
                  <td>
                    <FieldInput
                      field={field}
                      index={i}
                      value={filled(field)}
                      invalid={wrong.has(field.name)}
                      focus={field === focus}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {/* The first button is the one Enter presses: deciding with what the form holds. */}
          <button type="submit">{t("disputes.submit")}</button>{" "}
          <button type="submit" name="take" value="1" class="secondary">
            {t("disputes.take", { n: 1, name: a.name })}
          </button>{" "}
          <button type="submit" name="take" value="2" class="secondary">
            {t("disputes.take", { n: 2, name: b.name })}
          </button>
        </form>
      ) : null}
    </TaskItemPage>
  );
}

/** The lead's pages for disputed task items. */
export function taskDisputePages(deps: WebDeps) {
  const page = async (
    c: WebContext,
    batchId: string,
    extra: { notice?: string; keyed?: Record<string, string>; fields?: FieldProblem[] } = {},
  ) => {
    const user = requireRole(c, "lead", "engineer");
    const itemId = await deps.taskEntries.nextDispute(user, batchId);
    const dispute = itemId ? await deps.taskEntries.adjudication(user, itemId) : null;
    // The item's document (the showing recorded) beside both entries, individual numbers in full: the browser
    // keeps no copy of the page.
    const document = itemId && dispute ? await deps.taskDocuments.forDecision(user, itemId) : undefined;
    c.header("Cache-Control", "no-store");
    return <DisputePage c={c} batchId={batchId} dispute={dispute} {...(document ? { document } : {})} {...extra} />;
  };
  return new Hono<WebEnv>()
    .get("/task-disputes", async (c) => {
      const user = requireRole(c, "lead", "engineer");
      const t = c.get("t");
      const batches = await deps.taskEntries.disputedBatches(user);
      const lead = user.role === "lead";
      return render(
        c,
        <Layout c={c} title={t("disputes.title")}>
          <p class="hint">{t(lead ? "disputes.hint" : "disputes.grantedHint")}</p>
          <DataTable
            empty={t(lead ? "disputes.noBatches" : "disputes.noGrants")}
            count={batches.length}
            cols={[t("common.title"), { label: t("disputes.waiting"), num: true }]}
          >
            {batches.map((b) => (
              <tr>
                <td>
                  {b.disputed > 0 ? <a href={`/task-disputes/${b.id}`}>{b.title}</a> : b.title}
                  {lead ? (
                    <>
                      {" "}
                      (<a href={`/task-stats/${b.id}`}>{t("taskStats.link")}</a>)
                    </>
                  ) : null}
                </td>
                <td class="num">{b.disputed}</td>
              </tr>
            ))}
          </DataTable>
        </Layout>,
      );
    })
    .get("/task-disputes/:id", async (c) => {
      const notice = c.req.query("decided") === "1" ? c.get("t")("disputes.decided") : undefined;
      return render(c, await page(c, c.req.param("id"), notice ? { notice } : {}));
    })
    .post("/task-disputes/:id", async (c) => {
      const user = requireRole(c, "lead", "engineer");
      const batchId = c.req.param("id");
      const form = await c.req.parseBody();
      const itemId = formText(form, "itemId", 128);
      const take = formText(form, "take", 1);
      let keyed: Record<string, string> = {};
      if (take === "1" || take === "2") {
        const dispute = await deps.taskEntries.adjudication(user, itemId);
        keyed = dispute.entries[Number(take) - 1]?.values ?? {};
      } else {
        (await deps.taskEntries.decisionFields(user, batchId)).forEach((field, i) => {
          keyed[field.name] = formText(form, `f${i}`, 4000);
        });
      }
      try {
        await deps.taskEntries.adjudicate(user, itemId, keyed);
        return c.redirect(`/task-disputes/${batchId}?decided=1`, 303);
      } catch (err) {
        if (!(err instanceof AppError) || err.code !== "VALIDATION") throw err;
        const fields = problemsOf(c, err, "body").map((f) => ({ ...f, path: f.path.replace(/^values\./u, "") }));
        return render(c, await page(c, batchId, { keyed, fields }), 400);
      }
    });
}
