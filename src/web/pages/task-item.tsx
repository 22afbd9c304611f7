// What the pages that work task items one at a time share (the keyer's entry, the lead's decision on a
// dispute): the item's source beside a form made for the keyboard, a field's input, and the page's frame —
// what was done, the form's problems, "nothing left" once the items are done, and the way back.
import type { Child } from "hono/jsx";
import type { Shown } from "../../domain/tasks/documents.service.ts";
import type { TaskField } from "../../domain/tasks/field-values.ts";
import type { FieldProblem } from "../../kernel/errors.ts";
import { FieldErrors, Layout, Notice } from "../layout.tsx";
import type { WebContext } from "../web-env.ts";

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

/** An item's document as a page shows it: its pages, marked with the name of the person looking and the minute. */
export type ShownDocument = Shown;

/**
 * An item's document, page by page, inline in the page (no URL of its own), each with a watermark naming who is
 * looking and when burned into its pixels by the server, so that the image, a copy of it, a photo or a screenshot
 * of the screen says whose showing it came from.
 */
export const DocumentCard = ({ c, seq, document }: { c: WebContext; seq: number; document: ShownDocument }) => {
  const t = c.get("t");
  const { pages, mark } = document;
  return (
    <section aria-labelledby="document" class="card task-document">
      <h2 id="document">
        {t("tasks.document")} — {t("tasks.item", { seq })}
      </h2>
      <p class="hint" id="watermark-note">
        {t("tasks.watermark", { mark })}
      </p>
      {pages.map((p) => (
        <figure class="task-doc">
          <img
            src={`data:${p.mediaType};base64,${p.base64}`}
            width={p.width}
            height={p.height}
            alt={t("tasks.page", { n: p.page, of: pages.length })}
            draggable={false}
          />
        </figure>
      ))}
    </section>
  );
};

/** How a field's input should behave with a keyboard and an IME. */
const inputMode = (field: TaskField) =>
  field.type === "individual_number" || field.type === "corporate_number" || field.type === "yen"
    ? "numeric"
    : undefined;

/** The input of the form's `index`th field (`f<index>`): a list for a choice, else a line of text. */
export function FieldInput({
  field,
  index,
  value,
  invalid,
  focus,
  required = false,
}: {
  field: TaskField;
  index: number;
  value: string;
  invalid: boolean;
  focus: boolean;
  /** Whether the browser refuses to send the form without it. */
  required?: boolean;
}) {
  const id = `f${index}`;
  if (field.type === "choice") {
    return (
      <select id={id} name={id} autofocus={focus}>
        <option value="" />
        {field.choices?.map((choice) => (
          <option value={choice} selected={value === choice}>
            {choice}
          </option>
        ))}
      </select>
    );
  }
  return (
    <input
      id={id}
      name={id}
      value={value}
      inputmode={inputMode(field)}
      autocomplete="off"
      spellcheck={false}
      required={required}
      aria-invalid={invalid ? "true" : undefined}
      autofocus={focus}
    />
  );
}

/**
 * A page that works one task item at a time: what was done and the form's problems above; the item's source
 * beside the form's card (its heading, a hint on its keys, then `children`), or `nothingLeft` once there is no
 * item; the way back below.
 */
export function TaskItemPage({
  c,
  title,
  notice,
  fields,
  item,
  document,
  card,
  nothingLeft,
  back,
  children,
}: {
  c: WebContext;
  title: string;
  notice?: string | undefined;
  fields?: FieldProblem[] | undefined;
  /** The item worked on; null when none is left. */
  item: { seq: number; source: Record<string, string> } | null;
  /** The item's document, when it is one: shown in place of an empty source row. */
  document?: ShownDocument | undefined;
  /** The form's card: the id of its heading, the heading, and the hint on its keys. */
  card: { id: string; heading: string; hint: string };
  nothingLeft: string;
  back: { href: string; label: string };
  children: Child;
}) {
  return (
    <Layout c={c} title={title}>
      {notice ? (
        <Notice kind="ok">
          <p>{notice}</p>
        </Notice>
      ) : null}
      {fields ? <FieldErrors c={c} fields={fields} /> : null}
      {item ? (
        <div class="task-entry">
          {document?.pages.length ? <DocumentCard c={c} seq={item.seq} document={document} /> : null}
          {!document?.pages.length || Object.keys(item.source).length ? (
            <SourceCard c={c} seq={item.seq} source={item.source} />
          ) : null}
          <section aria-labelledby={card.id} class="card">
            <h2 id={card.id}>{card.heading}</h2>
            <p class="hint">{card.hint}</p>
            {children}
          </section>
        </div>
      ) : (
        <p id="nothing-left">{nothingLeft}</p>
      )}
      <p>
        <a href={back.href}>{back.label}</a>
      </p>
    </Layout>
  );
}
