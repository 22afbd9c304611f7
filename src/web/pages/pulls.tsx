// Pull requests in the browser: the lead's list and review page (the diff by file and hunk with line numbers,
// line comments, approve / request changes / comment, merge), and the engineer's own pull requests.
import { Hono } from "hono";
import type { WorkPackage } from "../../domain/packages/packages.service.ts";
import { type NewReview, type PullRequest, tally } from "../../domain/pulls/pulls.service.ts";
import type { Diff, DiffFile } from "../../git/diff.ts";
import { AppError, invalidWith } from "../../kernel/errors.ts";
import { text } from "../../kernel/messages.ts";
import { formatDateTime } from "../i18n/i18n.ts";
import { CsrfField, DataTable, FieldErrors, Layout, Notice } from "../layout.tsx";
import {
  formName,
  formText,
  heldPackages,
  orNull,
  problemsOf,
  render,
  requireRole,
  sayError,
  type WebContext,
  type WebDeps,
  type WebEnv,
  type WebUser,
} from "../web-env.ts";

/** An open pull request whose standing review asks for changes is not waiting for review: it says so. */
const stateKey = (pr: PullRequest) =>
  pr.state === "open" && tally(pr.reviews, pr.headSha).blocked
    ? "pulls.state.changesRequested"
    : (`pulls.state.${pr.state}` as const);

type Listed = { pkg: WorkPackage; pulls: PullRequest[] };

/** A table of pull requests with their state and approvals; `href` links each to its page when given. */
function PullTable({ c, pulls, link }: { c: WebContext; pulls: PullRequest[]; link: boolean }) {
  const t = c.get("t");
  return (
    <DataTable
      empty={t("pulls.empty")}
      count={pulls.length}
      cols={[
        { label: "#", num: true },
        t("common.title"),
        t("pulls.branch"),
        t("common.state"),
        t("pulls.approvals"),
        t("pulls.opened"),
      ]}
    >
      {pulls.map((pr) => (
        <tr>
          <td class="num">{pr.number}</td>
          <td>{link ? <a href={`/pulls/${pr.id}`}>{pr.title}</a> : pr.title}</td>
          <td>
            <code>{pr.sourceBranch}</code>
          </td>
          <td>
            <span class={`badge pr-${pr.state}`}>{t(stateKey(pr))}</span>
          </td>
          <td>{t("pulls.approvalCount", { approvals: pr.approvals, required: pr.requiredApprovals })}</td>
          <td>{formatDateTime(c.get("lang"), pr.createdAt)}</td>
        </tr>
      ))}
    </DataTable>
  );
}

function PullList({ c, title, items }: { c: WebContext; title: string; items: Listed[] }) {
  const t = c.get("t");
  return (
    <Layout c={c} title={title}>
      {items.length === 0 ? <p>{t("pulls.empty")}</p> : null}
      {items.map(({ pkg, pulls }) => (
        <section aria-labelledby={`pkg-${pkg.id}`}>
          <h2 id={`pkg-${pkg.id}`}>
            {pkg.wbsId} {pkg.title}
          </h2>
          <PullTable c={c} pulls={pulls} link />
        </section>
      ))}
    </Layout>
  );
}

/** One file of the diff: a table of its lines with old and new numbers, coloured by kind through CSS classes. */
function DiffFileView({ c, file, comments }: { c: WebContext; file: DiffFile; comments: PullRequest["reviews"] }) {
  const t = c.get("t");
  const onLine = (line: number | null) =>
    line === null
      ? []
      : comments.flatMap((r) => r.comments.filter((x) => x.path === file.path && x.line === line).map((x) => x.body));
  return (
    <section class="diff-file" aria-label={file.path}>
      <h3>
        <code>{file.path}</code> <span class="badge">{t(`diff.status.${file.status}`)}</span>{" "}
        <span class="diff-add">+{file.additions}</span> <span class="diff-del">−{file.deletions}</span>
      </h3>
      {file.binary ? (
        <p class="hint">{t("diff.binary")}</p>
      ) : (
        <table class="diff">
          <caption class="visually-hidden">{file.path}</caption>
          <thead>
            <tr>
              <th scope="col" class="num">
                {t("diff.old")}
              </th>
              <th scope="col" class="num">
                {t("diff.new")}
              </th>
              <th scope="col">{t("diff.code")}</th>
            </tr>
          </thead>
          {file.hunks.map((h) => (
            <tbody>
              <tr class="diff-hunk">
                <td colspan={3}>
                  <code>{h.header}</code>
                </td>
              </tr>
              {h.lines.flatMap((l) => [
                <tr class={`diff-line diff-${l.kind}`} data-path={file.path} data-line={l.newLine ?? undefined}>
                  <td class="num">{l.oldLine ?? ""}</td>
                  <td class="num">{l.newLine ?? ""}</td>
                  <td>
                    <code>
                      <span aria-hidden="true">{l.kind === "add" ? "+" : l.kind === "delete" ? "−" : " "}</span>
                      {l.kind === "add" ? (
                        <span class="visually-hidden">{t("diff.added")}</span>
                      ) : l.kind === "delete" ? (
                        <span class="visually-hidden">{t("diff.deleted")}</span>
                      ) : null}
                      {l.text}
                    </code>
                  </td>
                </tr>,
                ...onLine(l.kind === "delete" ? null : l.newLine).map((body) => (
                  <tr class="diff-comment">
                    <td colspan={3}>
                      <span class="badge">{t("pulls.comment")}</span> {body}
                    </td>
                  </tr>
                )),
              ])}
            </tbody>
          ))}
        </table>
      )}
    </section>
  );
}

function PullPage({
  c,
  pr,
  pkg,
  diff,
  notice,
  error,
  conflict,
}: {
  c: WebContext;
  pr: PullRequest;
  pkg: WorkPackage;
  diff: Diff;
  notice?: string;
  error?: { path: string; message: string }[];
  conflict?: string[];
}) {
  const t = c.get("t");
  const lang = c.get("lang");
  const lines = diff.files.flatMap((f) =>
    f.hunks.flatMap((h) => h.lines.filter((l) => l.newLine !== null).map((l) => ({ path: f.path, line: l.newLine }))),
  );
  return (
    <Layout c={c} title={`#${pr.number} ${pr.title}`}>
      {notice ? <Notice kind="ok">{notice}</Notice> : null}
      {error ? <FieldErrors c={c} fields={error} /> : null}
      {conflict ? (
        <div class="notice notice-error" role="alert" id="merge-conflict">
          <p>{t("pulls.conflict")}</p>
          <ul>
            {conflict.map((f) => (
              <li>
                <code>{f}</code>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <dl class="facts">
        <dt>{t("package.title", { wbsId: pkg.wbsId })}</dt>
        <dd>
          <a href={`/packages/${pkg.id}/pulls`}>{pkg.title}</a>
        </dd>
        <dt>{t("common.state")}</dt>
        <dd>
          <span class={`badge pr-${pr.state}`} id="pull-state">
            {t(stateKey(pr))}
          </span>
        </dd>
        <dt>{t("pulls.branch")}</dt>
        <dd>
          <code>{pr.sourceBranch}</code> → <code>{pr.targetBranch}</code> ({pr.headSha.slice(0, 12)})
        </dd>
        <dt>{t("pulls.approvals")}</dt>
        <dd id="pull-approvals">
          {t("pulls.approvalCount", { approvals: pr.approvals, required: pr.requiredApprovals })}
        </dd>
        <dt>{t("pulls.description")}</dt>
        <dd>{pr.description || t("common.none")}</dd>
      </dl>
      <section aria-labelledby="diff">
        <h2 id="diff">
          {t("diff.title")}{" "}
          <span class="hint">
            {t("diff.stats", {
              files: diff.stats.files,
              additions: diff.stats.additions,
              deletions: diff.stats.deletions,
            })}
          </span>
        </h2>
        {diff.files.map((file) => (
          <DiffFileView c={c} file={file} comments={pr.reviews} />
        ))}
      </section>
      <section aria-labelledby="reviews">
        <h2 id="reviews">{t("pulls.reviews")}</h2>
        {pr.reviews.length === 0 ? (
          <p>{t("pulls.noReviews")}</p>
        ) : (
          <ul id="review-list">
            {pr.reviews.map((r) => (
              <li>
                <span class={`badge verdict-${r.verdict}`}>{t(`pulls.verdict.${r.verdict}`)}</span>{" "}
                {formatDateTime(lang, r.createdAt)} ({r.commitSha.slice(0, 12)}) {r.body}
                {r.dismissedAt ? (
                  <span class="hint"> {t("pulls.dismissed", { reason: r.dismissReason ?? "" })}</span>
                ) : null}
                {r.comments.length ? (
                  <ul>
                    {r.comments.map((x) => (
                      <li>
                        <code>
                          {x.path}:{x.line}
                        </code>{" "}
                        {x.body}
                      </li>
                    ))}
                  </ul>
                ) : null}
              </li>
            ))}
          </ul>
        )}
      </section>
      {pr.state === "open" ? (
        <section aria-labelledby="review-form">
          <h2 id="review-form">{t("pulls.review")}</h2>
          <form method="post" action={`/pulls/${pr.id}/reviews`} class="stack">
            <CsrfField c={c} />
            <label>
              {t("pulls.body")}
              <textarea name="body" rows={3} maxlength={10000} />
            </label>
            <fieldset>
              <legend>{t("pulls.lineComment")}</legend>
              <label>
                {t("pulls.commentAt")}
                <select name="at">
                  <option value="">{t("common.none")}</option>
                  {lines.map((l) => (
                    <option value={`${l.line}:${l.path}`}>
                      {l.path}:{l.line}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                {t("pulls.commentBody")}
                <textarea name="commentBody" rows={2} maxlength={10000} />
              </label>
            </fieldset>
            <div class="row">
              <button type="submit" name="verdict" value="approve">
                {t("pulls.approve")}
              </button>
              <button type="submit" name="verdict" value="request_changes" class="secondary">
                {t("pulls.requestChanges")}
              </button>
              <button type="submit" name="verdict" value="comment" class="secondary">
                {t("pulls.commentOnly")}
              </button>
            </div>
          </form>
          {pr.mergeable ? (
            <form method="post" action={`/pulls/${pr.id}/merge`}>
              <CsrfField c={c} />
              <button type="submit">{t("pulls.merge")}</button>
            </form>
          ) : (
            <p class="hint">{t("pulls.notMergeable")}</p>
          )}
        </section>
      ) : null}
    </Layout>
  );
}

/** The engineer's pull requests per package held, with a form to open one from a branch of the fork. */
function MyPulls({
  c,
  items,
  error,
}: {
  c: WebContext;
  items: Listed[];
  error?: { packageId: string; fields: { path: string; message: string }[] };
}) {
  const t = c.get("t");
  return (
    <Layout c={c} title={t("myPulls.title")}>
      {c.req.query("notice") === "opened" ? <Notice kind="ok">{t("myPulls.opened")}</Notice> : null}
      {error ? <FieldErrors c={c} fields={error.fields} /> : null}
      {items.length === 0 ? <p>{t("mine.empty")}</p> : null}
      {items.map(({ pkg, pulls }) => (
        <section aria-labelledby={`pkg-${pkg.id}`}>
          <h2 id={`pkg-${pkg.id}`}>
            {pkg.wbsId} {pkg.title}
          </h2>
          <PullTable c={c} pulls={pulls} link={false} />
          {pulls
            .flatMap((pr) => pr.reviews.flatMap((r) => r.comments.map((x) => ({ pr, r, x }))))
            .map(({ pr, x }) => (
              <p class="hint">
                #{pr.number}{" "}
                <code>
                  {x.path}:{x.line}
                </code>{" "}
                {x.body}
              </p>
            ))}
          <form method="post" action={`/packages/${pkg.id}/pulls`} class="row">
            <CsrfField c={c} />
            <label>
              {t("myPulls.branch")}
              <input type="text" name="branch" required maxlength={200} />
            </label>
            <label>
              {t("myPulls.prTitle")}
              <input type="text" name="title" required maxlength={200} />
            </label>
            <button type="submit">{t("myPulls.open")}</button>
          </form>
        </section>
      ))}
    </Layout>
  );
}

/** The pull request pages. */
export function pullPages(deps: WebDeps) {
  /** Every package of the lead's contracts that has pull requests. */
  const leadItems = async (user: WebUser): Promise<Listed[]> => {
    const contracts = await deps.contracts.list(user);
    const pkgs = (await Promise.all(contracts.map((k) => deps.packages.listByContract(user, k.id)))).flat();
    const items = await Promise.all(pkgs.map(async (pkg) => ({ pkg, pulls: await deps.pulls.list(user, pkg.id) })));
    return items.filter((i) => i.pulls.length > 0);
  };
  const engineerItems = async (user: WebUser): Promise<Listed[]> => {
    const held = await heldPackages(deps, user);
    return Promise.all(held.map(async (pkg) => ({ pkg, pulls: (await orNull(deps.pulls.list(user, pkg.id))) ?? [] })));
  };
  const pullPage = async (
    c: WebContext,
    id: string,
    extra: { notice?: string; error?: { path: string; message: string }[]; conflict?: string[] } = {},
    status: 200 | 400 | 409 = 200,
  ) => {
    const user = requireRole(c, "lead");
    const pr = await deps.pulls.get(user, id);
    const [pkg, diff] = await Promise.all([deps.packages.get(user, pr.packageId), deps.pulls.diff(user, id)]);
    return render(c, <PullPage c={c} pr={pr} pkg={pkg} diff={diff} {...extra} />, status);
  };
  const notices = {
    approved: "pulls.approved",
    changes: "pulls.changesRequested",
    commented: "pulls.commented",
    merged: "pulls.merged",
  } as const;

  return new Hono<WebEnv>()
    .get("/reviews", async (c) => {
      const user = requireRole(c, "lead");
      return render(c, <PullList c={c} title={c.get("t")("pulls.title")} items={await leadItems(user)} />);
    })
    .get("/packages/:id/pulls", async (c) => {
      const user = requireRole(c, "lead");
      const pkg = await deps.packages.get(user, c.req.param("id"));
      const items = [{ pkg, pulls: await deps.pulls.list(user, pkg.id) }];
      return render(c, <PullList c={c} title={c.get("t")("pulls.title")} items={items} />);
    })
    .get("/pulls/:id", async (c) => {
      const key = notices[c.req.query("notice") as keyof typeof notices];
      return pullPage(c, c.req.param("id"), { notice: key ? c.get("t")(key) : undefined });
    })
    .post("/pulls/:id/reviews", async (c) => {
      const user = requireRole(c, "lead");
      const id = c.req.param("id");
      const form = await c.req.parseBody({ all: true });
      const verdict = formText(form, "verdict") as NewReview["verdict"];
      if (!["approve", "request_changes", "comment"].includes(verdict))
        throw invalidWith(text("form.verdict"), "verdict", text("form.verdictField"));
      const at = formText(form, "at");
      const commentBody = formText(form, "commentBody", 10_000);
      const comments: NonNullable<NewReview["comments"]> = [];
      if (at || commentBody) {
        const m = /^(\d+):(.+)$/.exec(at);
        if (!m || !commentBody) {
          const t = c.get("t");
          const fields = [{ path: m ? t("pulls.commentBody") : t("pulls.commentAt"), message: t("common.required") }];
          return pullPage(c, id, { error: fields }, 400);
        }
        comments.push({ path: m[2] ?? "", line: Number(m[1]), body: commentBody });
      }
      try {
        await deps.pulls.review(user, id, { verdict, body: formText(form, "body", 20_000), comments });
      } catch (err) {
        const fields = err instanceof AppError && err.code === "VALIDATION" ? err.details?.fields : undefined;
        if (Array.isArray(fields)) return pullPage(c, id, { error: fields }, 400);
        throw err;
      }
      const notice = verdict === "approve" ? "approved" : verdict === "request_changes" ? "changes" : "commented";
      return c.redirect(`/pulls/${id}?notice=${notice}`, 303);
    })
    .post("/pulls/:id/merge", async (c) => {
      const user = requireRole(c, "lead");
      const id = c.req.param("id");
      try {
        await deps.pulls.merge(user, id);
      } catch (err) {
        const files = err instanceof AppError && err.code === "CONFLICT" ? err.details?.files : undefined;
        if (Array.isArray(files)) return pullPage(c, id, { conflict: files.map(String) }, 409);
        throw err;
      }
      return c.redirect(`/pulls/${id}?notice=merged`, 303);
    })
    .get("/my-pulls", async (c) => {
      const user = requireRole(c, "engineer");
      return render(c, <MyPulls c={c} items={await engineerItems(user)} />);
    })
    .post("/packages/:id/pulls", async (c) => {
      const user = requireRole(c, "engineer");
      const packageId = c.req.param("id");
      const form = await c.req.parseBody({ all: true });
      try {
        await deps.pulls.open(user, packageId, { branch: formText(form, "branch"), title: formName(form, "title") });
      } catch (err) {
        if (
          err instanceof AppError &&
          (err.code === "VALIDATION" || err.code === "INVALID_STATE" || err.code === "CONFLICT")
        ) {
          const fields = Array.isArray(err.details?.fields)
            ? problemsOf(c, err)
            : [{ path: c.get("t")("myPulls.branch"), message: sayError(c, err) }];
          return render(c, <MyPulls c={c} items={await engineerItems(user)} error={{ packageId, fields }} />, 400);
        }
        throw err;
      }
      return c.redirect("/my-pulls?notice=opened", 303);
    });
}
