// Engineers keying task items: the batches they key, and one item at a time with its source beside a form
// made for the keyboard (Tab to the next field, Enter to send, full-width digits accepted). What they typed
// is shown back only to them, on this form; the page is never stored by the browser.
import { Hono } from "hono";
import type { TakenItem } from "../../domain/tasks/entries.service.ts";
import { AppError, type FieldProblem } from "../../kernel/errors.ts";
import { CsrfField, Layout } from "../layout.tsx";
import { formText, problemsOf, render, requireRole, type WebContext, type WebDeps, type WebEnv } from "../web-env.ts";
import { FieldInput, type ShownDocument, TaskItemPage } from "./task-item.tsx";

const sentStates = ["open", "agreed", "disputed"] as const;

function EntryPage({
  c,
  taken,
  document,
  notice,
  keyed = {},
  fields,
}: {
  c: WebContext;
  taken: TakenItem;
  document?: ShownDocument;
  notice?: string;
  keyed?: Record<string, string>;
  fields?: FieldProblem[];
}) {
  const t = c.get("t");
  const item = taken.item;
  const wrong = new Set(fields?.map((f) => f.path));
  const focus = taken.fields.find((f) => wrong.has(f.name)) ?? taken.fields[0];
  return (
    <TaskItemPage
      c={c}
      title={taken.title}
      notice={notice}
      fields={fields}
      item={item ?? null}
      document={document}
      card={{ id: "entry", heading: t("tasks.form"), hint: t("tasks.keys") }}
      nothingLeft={t("tasks.nothingLeft")}
      back={{ href: "/tasks", label: t("tasks.back") }}
    >
      <form method="post" action={`/tasks/${taken.batchId}/entry`} autocomplete="off">
        <CsrfField c={c} />
        <input type="hidden" name="itemId" value={item?.id} />
        {taken.fields.map((field, i) => (
          <label for={`f${i}`}>
            {field.name}
            {field.required ? t("tasks.required") : ""}
            <FieldInput
              field={field}
              index={i}
              value={keyed[field.name] ?? ""}
              invalid={wrong.has(field.name)}
              focus={field === focus}
              required={field.required}
            />
          </label>
        ))}
        <button type="submit">{t("tasks.send")}</button>
      </form>
      <form method="post" action={`/tasks/${taken.batchId}/release`}>
        <CsrfField c={c} />
        <input type="hidden" name="itemId" value={item?.id} />
        <button type="submit" class="secondary">
          {t("tasks.release")}
        </button>
      </form>
    </TaskItemPage>
  );
}

/** The engineer's task entry pages. */
export function taskPages(deps: WebDeps) {
  const entry = async (
    c: WebContext,
    batchId: string,
    extra: Omit<Parameters<typeof EntryPage>[0], "c" | "taken" | "document">,
  ) => {
    const user = requireRole(c, "engineer");
    const taken = await deps.taskEntries.take(user, batchId);
    // The item's document (each showing recorded) and any individual numbers the keyer typed may be on the page:
    // the browser keeps no copy of it.
    const document = taken.item ? await deps.taskDocuments.forKeyer(user, taken.item.id) : undefined;
    c.header("Cache-Control", "no-store");
    return <EntryPage c={c} taken={taken} {...(document ? { document } : {})} {...extra} />;
  };
  return new Hono<WebEnv>()
    .get("/tasks", async (c) => {
      const user = requireRole(c, "engineer");
      const t = c.get("t");
      const batches = await deps.taskEntries.myBatches(user);
      // Batches a lead has let this engineer decide the disputes of, if any.
      const deciding = await deps.taskEntries.disputedBatches(user);
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
                  <a href={`/tasks/${b.id}/entry`}>{b.title}</a> — {t("tasks.done", { n: b.done })} (
                  <a href={`/task-stats/${b.id}`}>{t("taskStats.link")}</a>)
                </li>
              ))}
            </ul>
          )}
          {deciding.length > 0 ? (
            <section aria-labelledby="deciding">
              <h2 id="deciding">{t("disputes.granted")}</h2>
              <p class="hint">{t("disputes.grantedHint")}</p>
              <ul>
                {deciding.map((b) => (
                  <li>
                    {b.disputed > 0 ? <a href={`/task-disputes/${b.id}`}>{b.title}</a> : b.title} —{" "}
                    {t("disputes.waiting")} {b.disputed}
                  </li>
                ))}
              </ul>
            </section>
          ) : null}
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
