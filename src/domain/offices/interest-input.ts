// An interest registration as the office's public form takes it: one schema, bounded in every field, so that
// a stranger's form can hold no more than a person would write.
import { z } from "@hono/zod-openapi";
import { NameText } from "../../kernel/text.ts";

export const INTEREST_MAX_SKILLS = 10;

export const InterestInput = z.strictObject({
  name: NameText(100),
  email: z.email().max(254),
  skills: z
    .array(z.strictObject({ skill: NameText(50), level: z.coerce.number().int().min(1).max(7) }))
    .max(INTEREST_MAX_SKILLS),
  movingWhen: z.string().trim().max(200),
  consent: z.literal(true, { message: "consent is required" }),
});

export type InterestInputValue = z.infer<typeof InterestInput>;
