// An office's life guide (移住・生活情報): the public page anyone may open, and the operators' page that writes it.
// The guide is Markdown the office's operators write; src/web/markdown.ts makes it safe to show.
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Child } from "hono/jsx";
import {
  GUIDE_MAX_CHARS,
  type GuideSection,
  type GuideSectionName,
  guideSections,
} from "../../domain/offices/guide.service.ts";
import { InterestInput } from "../../domain/offices/interest-input.ts";
import type { Office } from "../../domain/offices/offices.service.ts";
import { clientIp } from "../../http/client-ip.ts";
import { system } from "../../kernel/actor.ts";
import { AppError, fail, invalidField, notFound } from "../../kernel/errors.ts";
import { text } from "../../kernel/messages.ts";
import { formatDateTime } from "../i18n/i18n.ts";
import { CsrfField, FieldErrors, Layout, Notice } from "../layout.tsx";
import { renderMarkdown } from "../markdown.ts";
import {
  formText,
  issueProblems,
  problemsOf,
  render,
  requireRole,
  type WebContext,
  type WebDeps,
  type WebEnv,
} from "../web-env.ts";
import { consentText, type InterestDraft, InterestForm } from "./interests.tsx";

/** The most an interest registration's form may send, far above what its bounded fields hold. */
const INTEREST_BODY_LIMIT = 16 * 1024;

type Fields = { path: string; message: string }[];

const isSection = (s: string): s is GuideSectionName => (guideSections as readonly string[]).includes(s);

/** A section's Markdown in the page's language: English when asked and written, else the Japanese. */
function bodyFor(lang: string, s: GuideSection): { body: string; lang: "ja" | "en" } {
  return lang === "en" && s.bodyEn ? { body: s.bodyEn, lang: "en" } : { body: s.bodyJa, lang: "ja" };
}

/** The written sections of a guide, each under its heading, with its last review. */
export function GuideView({ c, sections }: { c: WebContext; sections: GuideSection[] }) {
  const t = c.get("t");
  const lang = c.get("lang");
  if (sections.length === 0) return <p>{t("guide.empty")}</p>;
  return (
    <>
      {sections.map((s) => {
        const shown = bodyFor(lang, s);
        return (
          <section class="guide-section" id={`guide-${s.section}`} aria-labelledby={`guide-${s.section}-title`}>
            <h2 id={`guide-${s.section}-title`}>{t(`guide.section.${s.section}`)}</h2>
            {lang === "en" && shown.lang === "ja" ? <p class="hint">{t("guide.onlyJapanese")}</p> : null}
            <div class="markdown" lang={shown.lang} dangerouslySetInnerHTML={{ __html: renderMarkdown(shown.body) }} />
            <p class="hint">{t("guide.reviewedAt", { at: formatDateTime(lang, s.reviewedAt) })}</p>
          </section>
        );
      })}
    </>
  );
}

/** The public page of an office: what it is, how to reach it, and its guide. */
function PublicOffice({
  c,
  office,
  sections,
  after,
}: {
  c: WebContext;
  office: Office;
  sections: GuideSection[];
  after?: Child;
}) {
  const t = c.get("t");
  return (
    <Layout c={c} title={office.name}>
      {c.req.query("registered") === "1" ? (
        <Notice kind="ok">
          <p>{t("interest.thanks")}</p>
        </Notice>
      ) : null}
      <p class="description">{office.description}</p>
      <dl class="facts">
        <dt>{t("offices.address")}</dt>
        <dd>
          {office.prefecture} {office.address}
        </dd>
        <dt>{t("offices.contact")}</dt>
        <dd>{office.contact}</dd>
      </dl>
      <h2 class="guide-title">{t("guide.title")}</h2>
      <GuideView c={c} sections={sections} />
      {after ?? null}
    </Layout>
  );
}

function GuideEditor({
  c,
  office,
  sections,
  saved,
  fields,
}: {
  c: WebContext;
  office: Office;
  sections: GuideSection[];
  saved?: string;
  fields?: Fields;
}) {
  const t = c.get("t");
  const lang = c.get("lang");
  const bySection = new Map(sections.map((s) => [s.section, s]));
  const stale = sections.filter((s) => s.stale);
  return (
    <Layout c={c} title={t("guide.editTitle", { office: office.name })}>
      <p class="hint">{t("guide.editHint")}</p>
      <p>
        <a href={`/office-guide/${office.id}`}>{t("guide.publicLink")}</a>
      </p>
      {saved && isSection(saved) ? (
        <Notice kind="ok">
          <p>{t("guide.saved", { section: t(`guide.section.${saved}`) })}</p>
        </Notice>
      ) : null}
      {stale.length > 0 ? (
        <Notice kind="error">
          <p>{t("guide.staleNotice", { sections: stale.map((s) => t(`guide.section.${s.section}`)).join("、") })}</p>
        </Notice>
      ) : null}
      {fields ? <FieldErrors c={c} fields={fields} /> : null}
      {guideSections.map((name) => {
        const s = bySection.get(name);
        return (
          <section aria-labelledby={`edit-${name}`} class="card">
            <h2 id={`edit-${name}`}>{t(`guide.section.${name}`)}</h2>
            <p class="hint" data-stale={s?.stale ? "1" : undefined}>
              {s
                ? t(s.stale ? "guide.reviewedStale" : "guide.reviewedAt", { at: formatDateTime(lang, s.reviewedAt) })
                : t("guide.notWritten")}
            </p>
            <form method="post" action={`/offices/${office.id}/guide/${name}`}>
              <CsrfField c={c} />
              <label>
                {t("guide.bodyJa")}
                <textarea name="bodyJa" maxlength={GUIDE_MAX_CHARS} rows={8}>
                  {s?.bodyJa ?? ""}
                </textarea>
              </label>
              <label>
                {t("guide.bodyEn")}
                <textarea name="bodyEn" maxlength={GUIDE_MAX_CHARS} rows={6}>
                  {s?.bodyEn ?? ""}
                </textarea>
              </label>
              <button type="submit">{t("guide.save")}</button>
            </form>
            {s ? (
              <form method="post" action={`/offices/${office.id}/guide/${name}/reviewed`} class="inline">
                <CsrfField c={c} />
                <button type="submit">{t("guide.markReviewed")}</button>
              </form>
            ) : null}
          </section>
        );
      })}
    </Layout>
  );
}

/** The public office pages and the operators' guide pages. */
export function guidePages(deps: WebDeps) {
  const office = (id: string) => deps.offices.get(system("web"), id);
  const editor = async (c: WebContext, id: string, extra: { saved?: string; fields?: Fields } = {}) => {
    const user = requireRole(c, "operator");
    await deps.offices.requireManager(user, id);
    const [o, sections] = await Promise.all([office(id), deps.guides.guide(id)]);
    return <GuideEditor c={c} office={o} sections={sections} {...extra} />;
  };
  const sectionOf = (c: WebContext): GuideSectionName => {
    const s = c.req.param("section") ?? "";
    if (!isSection(s)) throw notFound("guideSection");
    return s;
  };

  const days = deps.interests.retentionDays;
  const publicPage = async (
    c: WebContext,
    id: string,
    form: { draft?: InterestDraft; fields?: { path: string; message: string }[]; refused?: string } = {},
  ) => {
    const [o, sections] = await Promise.all([office(id), deps.guides.guide(id)]);
    const after = (
      <>
        {form.refused ? (
          <Notice kind="error">
            <p>{form.refused}</p>
          </Notice>
        ) : null}
        <InterestForm c={c} office={o} days={days} draft={form.draft} fields={form.fields} />
      </>
    );
    return <PublicOffice c={c} office={o} sections={sections} after={after} />;
  };

  return new Hono<WebEnv>()
    .get("/office-guide/:id", async (c) => render(c, await publicPage(c, c.req.param("id"))))
    .use(
      "/office-guide/:id/interest",
      bodyLimit({
        maxSize: INTEREST_BODY_LIMIT,
        onError: () => {
          throw fail("PAYLOAD_TOO_LARGE", text("error.bodyLarger", { bytes: INTEREST_BODY_LIMIT }));
        },
      }),
    )
    .post("/office-guide/:id/interest", async (c) => {
      const id = c.req.param("id");
      const o = await office(id);
      // Every attempt counts, refused or not, so that a robot learns nothing by trying.
      const admitted = await deps.interestAttempts.admit(clientIp(c, deps.trustProxy));
      if (!admitted.ok) {
        c.header("retry-after", String(admitted.retryAfterSeconds));
        return render(c, await publicPage(c, id, { refused: c.get("t")("interest.throttled") }), 429);
      }
      const form = await c.req.parseBody({ all: true });
      const list = (v: unknown) => (Array.isArray(v) ? v : v === undefined ? [] : [v]).map((x) => String(x).trim());
      const levels = list(form.level);
      const draft: InterestDraft = {
        name: String(form.name ?? "").slice(0, 200),
        email: String(form.email ?? "").slice(0, 300),
        skills: list(form.skill).map((skill, i) => ({ skill: skill.slice(0, 100), level: levels[i] ?? "" })),
        movingWhen: String(form.movingWhen ?? "").slice(0, 300),
      };
      // The trap: a field no person sees. Whoever fills it is told it went well and nothing is kept.
      if (String(form.website ?? "") !== "") {
        deps.logger.info({ office: id }, "interest form trap filled: nothing kept");
        return c.redirect(`/office-guide/${id}?registered=1`, 303);
      }
      const parsed = InterestInput.safeParse({
        name: String(form.name ?? ""),
        email: String(form.email ?? "").trim(),
        skills: draft.skills.filter((s) => s.skill !== ""),
        movingWhen: String(form.movingWhen ?? ""),
        consent: form.consent === "yes",
      });
      if (!parsed.success) {
        return render(c, await publicPage(c, id, { draft, fields: issueProblems(c, parsed.error.issues) }), 400);
      }
      await deps.interests.register(id, parsed.data, consentText(c, o, days));
      return c.redirect(`/office-guide/${id}?registered=1`, 303);
    })
    .get("/offices/:id/guide", async (c) =>
      render(c, await editor(c, c.req.param("id"), { saved: c.req.query("saved") })),
    )
    .post("/offices/:id/guide/:section", async (c) => {
      const user = requireRole(c, "operator");
      const id = c.req.param("id");
      const section = sectionOf(c);
      try {
        const form = await c.req.parseBody({ all: true });
        const bodyJa = formText(form, "bodyJa", GUIDE_MAX_CHARS);
        if (!bodyJa) throw invalidField("bodyJa", text("issue.required"));
        const bodyEn = formText(form, "bodyEn", GUIDE_MAX_CHARS);
        await deps.guides.put(user, id, section, { bodyJa, bodyEn: bodyEn || null });
        return c.redirect(`/offices/${id}/guide?saved=${section}#edit-${section}`, 303);
      } catch (err) {
        if (!(err instanceof AppError) || err.code !== "VALIDATION") throw err;
        return render(c, await editor(c, id, { fields: problemsOf(c, err, "bodyJa") }), 400);
      }
    })
    .post("/offices/:id/guide/:section/reviewed", async (c) => {
      const user = requireRole(c, "operator");
      const id = c.req.param("id");
      const section = sectionOf(c);
      await deps.guides.reviewed(user, id, section);
      return c.redirect(`/offices/${id}/guide?saved=${section}#edit-${section}`, 303);
    });
}
