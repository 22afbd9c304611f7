// The closed set of error codes that every layer may raise, kept below the domain; src/http/errors.ts maps them to HTTP.

/** Every failure Azusa reports has one of these codes. */
export const errorCodes = [
  "VALIDATION",
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "NOT_FOUND",
  "CONFLICT",
  "INVALID_STATE",
  "PAYLOAD_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
  "RANGE_NOT_SATISFIABLE",
  "RATE_LIMITED",
  "UNAVAILABLE",
  "INTERNAL",
] as const;

export type ErrorCode = (typeof errorCodes)[number];

/** An expected failure with a stable code and a message that is safe to show to the caller. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "AppError";
  }
}

/** Shorthand for the commonest failure: the thing does not exist, or the caller may not know it does. */
export const notFound = (what: string) => new AppError("NOT_FOUND", `${what} not found`);
export const forbidden = (message = "you may not do this") => new AppError("FORBIDDEN", message);

/** A VALIDATION error naming one field, the way route validation names them. */
export const invalidField = (path: string, message: string) =>
  new AppError("VALIDATION", `${path}: ${message}`, { fields: [{ path, message }] });
