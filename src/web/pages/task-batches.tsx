// A contract's task batches for its contractors and leads: kind, items by state, unit price, retention end, with
// links to the results exports (CSV in UTF-8 with a BOM or Shift_JIS, xlsx), the entry figures and the disposal
// record; and, for a contractor, disposal of a batch's values after a confirmation step. The same services as
// the API answer, with the same checks: another tenant's contract is not found.
import { Hono } from "hono";
import { taskItemStates } from "../../domain/tasks/entries.service.ts";
import { formatDateTime } from "../i18n/i18n.ts";
import { CsrfField, DataTable, Layout, Notice } from "../layout.tsx";
import { render, requireRole, type WebDeps, type WebEnv } from "../web-env.ts";

export function taskBatchPages(deps: WebDeps) {
  return new Hono<WebEnv>()
    .get("/contracts/:id/task-batches", async (c) => {
      const user = requireRole(c, "contractor", "lead");
      const t = c.get("t");
      const contract = await deps.contracts.get(user, c.req.param("id"));
      const batches = await deps.tasks.overview(user, contract.id);
      return render(
        c,
        <Layout c={c} title={t("taskBatches.title", { contract: contract.title })}>
          <DataTable
            id="batches"
            empty={t("taskBatches.none")}
            count={batches.length}
            cols={[
              t("taskBatches.batch"),
              t("taskBatches.kind"),
              ...taskItemStates.map((s) => ({ label: t(`taskBatches.state.${s}`), num: true as const })),
              { label: t("taskBatches.unitPrice"), num: true },
              t("taskBatches.retentionUntil"),
              t("taskBatches.files"),
            ]}
          >
            {batches.map((b) => {
              const api = `/api/v1/task-batches/${b.id}`;
              return (
                <tr id={`batch-${b.id}`}>
                  <td>{b.title}</td>
                  <td>{t(`taskBatches.kind.${b.kind}`)}</td>
                  {taskItemStates.map((s) => (
                    <td class="num">{b.states[s] ?? 0}</td>
                  ))}
                  <td class="num">{b.unitPriceYen == null ? "—" : `¥${b.unitPriceYen.toLocaleString("ja-JP")}`}</td>
                  <td>{b.retentionUntil}</td>
                  <td>
                    <a href={`${api}/results.csv?encoding=utf-8`} download>
                      {t("taskBatches.csvUtf8")}
                    </a>{" "}
                    <a href={`${api}/results.csv?encoding=shift_jis`} download>
                      {t("taskBatches.csvSjis")}
                    </a>{" "}
                    <a href={`${api}/results.xlsx`} download>
                      {t("taskBatches.xlsx")}
                    </a>{" "}
                    <a href={`${api}/disposal.csv`} download>
                      {t("taskBatches.disposalCsv")}
                    </a>{" "}
                    {user.role === "lead" ? <a href={`/task-stats/${b.id}`}>{t("taskBatches.stats")}</a> : null}{" "}
                    {user.role === "contractor" ? (
                      <a href={`/task-batches/${b.id}/disposal`}>{t("taskBatches.dispose")}</a>
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </DataTable>
          <p>
            <a href={`/contracts/${contract.id}`}>{t("taskBatches.back")}</a>
          </p>
        </Layout>,
      );
    })
    .get("/task-batches/:id/disposal", async (c) => {
      const user = requireRole(c, "contractor", "lead");
      const t = c.get("t");
      const batch = await deps.tasks.get(user, c.req.param("id"));
      const record = await deps.taskEntries.disposal(user, batch.id);
      const lang = c.get("lang");
      return render(
        c,
        <Layout c={c} title={t("taskBatches.disposalTitle", { batch: batch.title })}>
          {c.req.query("disposed") ? <Notice kind="ok">{t("taskBatches.disposed")}</Notice> : null}
          {record ? (
            <dl class="facts" id="disposal-record">
              <dt>{t("taskBatches.disposalReason")}</dt>
              <dd>{t(`taskBatches.reason.${record.reason}`)}</dd>
              <dt>{t("taskBatches.disposedAt")}</dt>
              <dd>{formatDateTime(lang, record.disposedAt)}</dd>
              <dt>{t("taskBatches.disposedItems")}</dt>
              <dd>{record.items}</dd>
              <dt>{t("taskBatches.disposedEntries")}</dt>
              <dd>{record.entries}</dd>
              <dt>{t("taskBatches.disposedNumbers")}</dt>
              <dd>{record.individualNumbers}</dd>
              <dt>{t("taskBatches.disposedPages")}</dt>
              <dd>{record.documents}</dd>
              <dt>{t("taskBatches.disposalCsv")}</dt>
              <dd>
                <a href={`/api/v1/task-batches/${batch.id}/disposal.csv`} download>
                  {t("taskBatches.disposalCsv")}
                </a>
              </dd>
            </dl>
          ) : user.role === "contractor" ? (
            <>
              <div class="notice" role="alert">
                <p>{t("taskBatches.confirmDispose", { batch: batch.title, until: batch.retentionUntil })}</p>
              </div>
              <div class="row">
                <form method="post" action={`/task-batches/${batch.id}/disposal`} class="inline">
                  <CsrfField c={c} />
                  <input type="hidden" name="confirm" value="yes" />
                  <button type="submit" class="secondary">
                    {t("taskBatches.confirmDisposeButton")}
                  </button>
                </form>{" "}
                <a href={`/contracts/${batch.contractId}/task-batches`}>{t("taskBatches.cancel")}</a>
              </div>
            </>
          ) : (
            <p id="kept">{t("taskBatches.kept")}</p>
          )}
          <p>
            <a href={`/contracts/${batch.contractId}/task-batches`}>{t("taskBatches.backToBatches")}</a>
          </p>
        </Layout>,
      );
    })
    .post("/task-batches/:id/disposal", async (c) => {
      const user = requireRole(c, "contractor");
      const form = await c.req.parseBody();
      const batch = await deps.tasks.get(user, c.req.param("id"));
      if (form.confirm !== "yes") return c.redirect(`/task-batches/${batch.id}/disposal`, 303);
      await deps.taskEntries.dispose(user, batch.id);
      return c.redirect(`/task-batches/${batch.id}/disposal?disposed=1`, 303);
    });
}
