// Maps AppError codes to HTTP statuses and renders the one error body every failure uses.
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { AppError, type ErrorCode, errorCodes, fail, localizeError } from "../kernel/errors.ts";
import { langFromAcceptLanguage, text } from "../kernel/messages.ts";

export const statusOf: Record<ErrorCode, ContentfulStatusCode> = {
  VALIDATION: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  INVALID_STATE: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RANGE_NOT_SATISFIABLE: 416,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

/** The body of every error response. */
export const ErrorBody = z
  .object({
    error: z.object({
      code: z.enum(errorCodes),
      message: z.string(),
      requestId: z.string(),
      fields: z
        .array(z.object({ path: z.string(), message: z.string() }))
        .optional()
        .describe("for VALIDATION: each field that was wrong"),
    }),
  })
  .openapi("Error");

export const errorContent = { "application/json": { schema: ErrorBody } };

/** The error responses every authenticated route can give, for its OpenAPI entry. */
export const errorResponses = {
  400: { description: "Invalid input; `fields` names what was wrong", content: errorContent },
  401: { description: "Not signed in", content: errorContent },
  403: { description: "Signed in but not allowed", content: errorContent },
  404: { description: "Not found, or not visible to the caller", content: errorContent },
  409: { description: "Conflicts with the current state", content: errorContent },
} as const;

/** The `retry-after` of an UNAVAILABLE answer, in seconds. */
export const RETRY_AFTER_SECONDS = 5;

/**
 * Writes the error body for an AppError (and `retry-after` when it is UNAVAILABLE): the message in English,
 * or in Japanese when the request's `Accept-Language` prefers it (the code and the field paths stay the same).
 */
export function errorResponse(c: Context, err: AppError) {
  const requestId = c.get("requestId") ?? "unknown";
  const lang = langFromAcceptLanguage(c.req.header("accept-language"));
  const { message, fields } = localizeError(err, { lang });
  // A part that does not answer (the database) is expected back within moments: clients may retry then.
  if (err.code === "UNAVAILABLE") c.header("retry-after", String(RETRY_AFTER_SECONDS));
  c.header("content-language", lang);
  c.header("vary", "Accept-Language", { append: true });
  return c.json({ error: { code: err.code, message, requestId, ...(fields ? { fields } : {}) } }, statusOf[err.code]);
}

/**
 * Turns anything thrown into an AppError; unexpected errors become INTERNAL without their details. `contentType`
 * is the request's, named when a route refuses it.
 */
export function toAppError(err: unknown, contentType?: string): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof HTTPException) {
    const status = err.status;
    if (status === 413) return fail("PAYLOAD_TOO_LARGE", text("error.tooLarge"));
    // zod-openapi refuses a body whose content type the route does not declare (or a body without one).
    if (status === 415) {
      const sent = contentType
        ? text("error.contentType", { type: JSON.stringify(contentType.slice(0, 100)) })
        : text("error.noContentType");
      return fail("UNSUPPORTED_MEDIA_TYPE", text("error.mediaType", { sent }));
    }
    if (status === 401) return fail("UNAUTHENTICATED", text("error.signIn"));
    if (status === 403) return fail("FORBIDDEN", text("error.forbidden"));
    if (status === 404) return fail("NOT_FOUND", text("error.notFoundPlain"));
    // Hono's body parser says "Malformed JSON in request body": the client is told which of its mistakes it was.
    if (status === 400 && /malformed json/i.test(err.message)) return fail("VALIDATION", text("error.malformedJson"));
    if (status === 400) return fail("VALIDATION", text("error.badRequest"));
  }
  return fail("INTERNAL", text("error.internal"));
}
