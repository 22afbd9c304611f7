// Each office's life guide (移住・生活情報): what someone thinking of moving there wants to know, written by the
// office's operators in Markdown, Japanese first and English when they write it. Anyone may read it (the
// public office page shows it); a section not reviewed for a year is reported to the office's operators.
import type { Kysely } from "kysely";
import type { Database } from "../../db/schema.ts";
import { type Actor, system } from "../../kernel/actor.ts";
import { notFound } from "../../kernel/errors.ts";
import type { AuditService } from "../audit/audit.service.ts";
import type { OfficeService } from "./offices.service.ts";

/** The sections of every guide, in the order pages show them. */
export const guideSections = ["housing", "childcare", "medical", "transport", "coworking", "support"] as const;
export type GuideSectionName = (typeof guideSections)[number];

/** How long a section stays current after it was last reviewed. */
export const GUIDE_REVIEW_DAYS = 365;

/** The most a section's Markdown may hold, in either language. */
export const GUIDE_MAX_CHARS = 20_000;

export interface GuideSection {
  section: GuideSectionName;
  bodyJa: string;
  bodyEn: string | null;
  reviewedAt: string;
  updatedAt: string;
  /** Last reviewed more than GUIDE_REVIEW_DAYS ago. */
  stale: boolean;
}

export interface GuideSectionInput {
  bodyJa: string;
  bodyEn: string | null;
}

/** A section past its review, with the office it belongs to and the operators to tell. */
export interface StaleSection {
  officeId: string;
  officeName: string;
  section: GuideSectionName;
  reviewedAt: string;
  operators: string[];
}

const order = (s: string) => guideSections.indexOf(s as GuideSectionName);

export function createGuideService({
  db,
  audit,
  offices,
  now = () => new Date(),
}: {
  db: Kysely<Database>;
  audit: AuditService;
  offices: OfficeService;
  now?: () => Date;
}) {
  /** The instant before which a review is too old. */
  const staleBefore = () => new Date(now().getTime() - GUIDE_REVIEW_DAYS * 86_400_000).toISOString();

  const toSection = (r: Database["office_guide_section"], before: string): GuideSection => ({
    section: r.section as GuideSectionName,
    bodyJa: r.body_ja,
    bodyEn: r.body_en,
    reviewedAt: r.reviewed_at,
    updatedAt: r.updated_at,
    stale: r.reviewed_at < before,
  });

  async function read(officeId: string): Promise<GuideSection[]> {
    const rows = await db.selectFrom("office_guide_section").selectAll().where("office_id", "=", officeId).execute();
    const before = staleBefore();
    return rows.map((r) => toSection(r, before)).sort((a, b) => order(a.section) - order(b.section));
  }

  const by = (actor: Actor) => (actor.kind === "user" ? actor.userId : actor.name);

  return {
    /** The written sections of an office's guide, in the guide's order; public, as the office page shows them. */
    async guide(officeId: string): Promise<GuideSection[]> {
      await offices.get(system("guide"), officeId);
      return read(officeId);
    },

    /** Writes a section (its office's operators, office admins); writing it is reviewing it. */
    async put(
      actor: Actor,
      officeId: string,
      section: GuideSectionName,
      input: GuideSectionInput,
    ): Promise<GuideSection> {
      await offices.requireManager(actor, officeId);
      const at = now().toISOString();
      const bodyEn = input.bodyEn?.trim() ? input.bodyEn : null;
      return db.transaction().execute(async (trx) => {
        const had = await trx
          .selectFrom("office_guide_section")
          .select("section")
          .where("office_id", "=", officeId)
          .where("section", "=", section)
          .executeTakeFirst();
        const values = {
          body_ja: input.bodyJa,
          body_en: bodyEn,
          reviewed_at: at,
          updated_at: at,
          updated_by: by(actor),
        };
        if (had) {
          await trx
            .updateTable("office_guide_section")
            .set(values)
            .where("office_id", "=", officeId)
            .where("section", "=", section)
            .execute();
        } else {
          await trx
            .insertInto("office_guide_section")
            .values({ office_id: officeId, section, ...values })
            .execute();
        }
        await audit.record(
          actor,
          "office.guide_updated",
          `office:${officeId}`,
          { section, english: bodyEn !== null },
          { trx },
        );
        return toSection({ office_id: officeId, section, ...values }, staleBefore());
      });
    },

    /** Confirms a section is still right without changing it (its office's operators, office admins). */
    async reviewed(actor: Actor, officeId: string, section: GuideSectionName): Promise<GuideSection> {
      await offices.requireManager(actor, officeId);
      const at = now().toISOString();
      return db.transaction().execute(async (trx) => {
        const done = await trx
          .updateTable("office_guide_section")
          .set({ reviewed_at: at, updated_by: by(actor) })
          .where("office_id", "=", officeId)
          .where("section", "=", section)
          .executeTakeFirst();
        if (Number(done.numUpdatedRows) !== 1) throw notFound("guideSection");
        await audit.record(actor, "office.guide_reviewed", `office:${officeId}`, { section }, { trx });
        const row = await trx
          .selectFrom("office_guide_section")
          .selectAll()
          .where("office_id", "=", officeId)
          .where("section", "=", section)
          .executeTakeFirstOrThrow();
        return toSection(row, staleBefore());
      });
    },

    /** Takes a section out of the guide (its office's operators, office admins). */
    async remove(actor: Actor, officeId: string, section: GuideSectionName): Promise<void> {
      await offices.requireManager(actor, officeId);
      await db.transaction().execute(async (trx) => {
        const gone = await trx
          .deleteFrom("office_guide_section")
          .where("office_id", "=", officeId)
          .where("section", "=", section)
          .executeTakeFirst();
        if (Number(gone.numDeletedRows) !== 1) throw notFound("guideSection");
        await audit.record(actor, "office.guide_removed", `office:${officeId}`, { section }, { trx });
      });
    },

    /** Every section, of every office, last reviewed more than GUIDE_REVIEW_DAYS ago (for the reminder). */
    async stale(): Promise<StaleSection[]> {
      const rows = await db
        .selectFrom("office_guide_section")
        .innerJoin("office", "office.id", "office_guide_section.office_id")
        .select([
          "office_guide_section.office_id",
          "office.name",
          "office_guide_section.section",
          "office_guide_section.reviewed_at",
        ])
        .where("office_guide_section.reviewed_at", "<", staleBefore())
        .orderBy("office.name")
        .execute();
      return Promise.all(
        rows.map(async (r) => ({
          officeId: r.office_id,
          officeName: r.name,
          section: r.section as GuideSectionName,
          reviewedAt: r.reviewed_at,
          operators: await offices.operatorsToTell(r.office_id),
        })),
      );
    },
  };
}

export type GuideService = ReturnType<typeof createGuideService>;
