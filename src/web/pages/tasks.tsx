// Engineers keying task items: the batches they key, and one item at a time with its source beside a form
// made for the keyboard (Tab to the next field, Enter to send, full-width digits accepted). What they typed
// is shown back only to them, on this form; the page is never stored by the browser.
import { Hono } from "hono";
import type { TakenItem } from "../../domain/tasks/entries.service.ts";
import type { TaskField } from "../../domain/tasks/field-values.ts";
import { AppError, type FieldProblem } from "../../kernel/errors.ts";
import { CsrfField, FieldErrors, Layout, Notice } from "../layout.tsx";
import { formText, problemsOf, render, requireRole, type WebContext, type WebDeps, type WebEnv } from "../web-env.ts";

const sentStates = ["open", "agreed", "disputed"] as const;

/** How a field's input should behave with a keyboard and an IME. */
const inputMode = (field: TaskField) =>
  field.type === "individual_number" || field.type === "corporate_number" || field.type === "yen"
    ? "numeric"
    : undefined;

/** An item's source row, as the keyer and the lead deciding it read it. */
export const SourceCard = ({ c, seq, source }: { c: WebContext; seq: number; source: Record<string, string> }) => (
  <section aria-labelledby="source" class="card">
    <h2 id="source">
      {c.get("t")("tasks.source")} — {c.get("t")("tasks.item", { seq })}
    </h2>
    <table>
      <tbody>
        {Object.entries(source).map(([name, value]) => (
          <tr>
            <th scope="row">{name}</th>
            <td>{value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  </section>
);

function EntryPage({
  c,
  taken,
  notice,
  keyed = {},
  fields,
}: {
  c: WebContext;
  taken: TakenItem;
  notice?: string;
  keyed?: Record<string, string>;
  fields?: FieldProblem[];
}) {
  const t = c.get("t");
  const item = taken.item;
  const wrong = new Set(fields?.map((f) => f.path));
  const focus = taken.fields.find((f) => wrong.has(f.name)) ?? taken.fields[0];
  return (
    <Layout c={c} title={taken.title}>
      {notice ? (
        <Notice kind="ok">
          <p>{notice}</p>
        </Notice>
      ) : null}
      {fields ? <FieldErrors c={c} fields={fields} /> : null}
      {item ? (
        <div class="task-entry">
          <SourceCard c={c} seq={item.seq} source={item.source} />
          <section aria-labelledby="entry" class="card">
            <h2 id="entry">{t("tasks.form")}</h2>
            <p class="hint">{t("tasks.keys")}</p>
            <form method="post" action={`/tasks/${taken.batchId}/entry`} autocomplete="off">
              <CsrfField c={c} />
              <input type="hidden" name="itemId" value={item.id} />
              {taken.fields.map((field, i) => (
                <label for={`f${i}`}>
                  {field.name}
                  {field.required ? t("tasks.required") : ""}
                  {field.type === "choice" ? (
                    <select id={`f${i}`} name={`f${i}`} autofocus={field === focus}>
                      <option value="" />
                      {field.choices?.map((choice) => (
                        <option value={choice} selected={keyed[field.name] === choice}>
                          {choice}
                        </option>
                      ))}
                    </select>
                  ) : (
                    <input
                      id={`f${i}`}
                      name={`f${i}`}
                      value={keyed[field.name] ?? ""}
                      inputmode={inputMode(field)}
                      autocomplete="off"
                      spellcheck={false}
                      required={field.required}
                      aria-invalid={wrong.has(field.name) ? "true" : undefined}
                      autofocus={field === focus}
                    />
                  )}
                </label>
              ))}
              <button type="submit">{t("tasks.send")}</button>
            </form>
            <form method="post" action={`/tasks/${taken.batchId}/release`}>
              <CsrfField c={c} />
              <input type="hidden" name="itemId" value={item.id} />
              <button type="submit" class="secondary">
                {t("tasks.release")}
              </button>
            </form>
          </section>
        </div>
      ) : (
        <p id="nothing-left">{t("tasks.nothingLeft")}</p>
      )}
      <p>
        <a href="/tasks">{t("tasks.back")}</a>
      </p>
    </Layout>
  );
}

/** The engineer's task entry pages. */
export function taskPages(deps: WebDeps) {
  const entry = async (c: WebContext, batchId: string, extra: Omit<Parameters<typeof EntryPage>[0], "c" | "taken">) => {
    const user = requireRole(c, "engineer");
    const taken = await deps.taskEntries.take(user, batchId);
    // Individual numbers the keyer typed may be on the page: the browser keeps no copy of it.
    c.header("Cache-Control", "no-store");
    return <EntryPage c={c} taken={taken} {...extra} />;
  };
  return new Hono<WebEnv>()
    .get("/tasks", async (c) => {
      const user = requireRole(c, "engineer");
      const t = c.get("t");
      const batches = await deps.taskEntries.myBatches(user);
      return render(
        c,
        <Layout c={c} title={t("tasks.title")}>
          <p class="hint">{t("tasks.hint")}</p>
          {batches.length === 0 ? (
            <p>{t("tasks.empty")}</p>
          ) : (
            <ul>
              {batches.map((b) => (
                <li>
                  <a href={`/tasks/${b.id}/entry`}>{b.title}</a> — {t("tasks.done", { n: b.done })}
                </li>
              ))}
            </ul>
          )}
        </Layout>,
      );
    })
    .get("/tasks/:id/entry", async (c) => {
      const t = c.get("t");
      const sent = sentStates.find((s) => s === c.req.query("sent"));
      const notice = sent ? t(`tasks.sent.${sent}`) : c.req.query("released") === "1" ? t("tasks.released") : undefined;
      return render(c, await entry(c, c.req.param("id"), notice ? { notice } : {}));
    })
    .post("/tasks/:id/entry", async (c) => {
      const user = requireRole(c, "engineer");
      const batchId = c.req.param("id");
      const form = await c.req.parseBody();
      const taken = await deps.taskEntries.take(user, batchId);
      const itemId = formText(form, "itemId", 128);
      const keyed: Record<string, string> = {};
      taken.fields.forEach((field, i) => {
        keyed[field.name] = formText(form, `f${i}`, 4000);
      });
      try {
        const { state } = await deps.taskEntries.submit(user, itemId, keyed);
        return c.redirect(`/tasks/${batchId}/entry?sent=${state}`, 303);
      } catch (err) {
        if (!(err instanceof AppError) || err.code !== "VALIDATION") throw err;
        // The form's labels are the fields' names: a problem is named the same way.
        const fields = problemsOf(c, err, "body").map((f) => ({ ...f, path: f.path.replace(/^values\./u, "") }));
        return render(c, await entry(c, batchId, { keyed, fields }), 400);
      }
    })
    .post("/tasks/:id/release", async (c) => {
      const user = requireRole(c, "engineer");
      const form = await c.req.parseBody();
      await deps.taskEntries.release(user, formText(form, "itemId", 128));
      return c.redirect(`/tasks/${c.req.param("id")}/entry?released=1`, 303);
    });
}
