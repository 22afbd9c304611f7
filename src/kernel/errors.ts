// The closed set of error codes that every layer may raise, kept below the domain; src/http/errors.ts maps them to HTTP.
import { catalogue, english, fieldName, type MessageId, type Reader, say, type Text, text } from "./messages.ts";

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

/**
 * An expected failure with a stable code and a message that is safe to show to the caller. `text`, when
 * given, is the same message from the catalogue (src/kernel/messages.ts), so that it can be said in Japanese.
 */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly text?: Text,
  ) {
    super(message);
    this.name = "AppError";
  }
}

/** One field that was wrong; `text` is its message from the catalogue when it has one. */
export interface FieldProblem {
  path: string;
  message: string;
  text?: Text;
}

/** An error whose message comes from the catalogue; its English words are the `message`. */
export const fail = (code: ErrorCode, message: Text, details?: Record<string, unknown>) =>
  new AppError(code, english(message), details, message);

/** A field problem whose message comes from the catalogue. */
export const fieldProblem = (path: string, message: Text): FieldProblem => ({
  path,
  message: english(message),
  text: message,
});

/** Shorthand for the commonest failure: the thing does not exist, or the caller may not know it does. */
export const notFound = (what: string) => {
  const key = `what.${what}`;
  const named = key in catalogue ? text(key as MessageId) : what;
  return fail("NOT_FOUND", text("error.notFound", { what: named }));
};
export const forbidden = (message?: string | Text) =>
  message === undefined
    ? fail("FORBIDDEN", text("error.forbidden"))
    : typeof message === "string"
      ? new AppError("FORBIDDEN", message)
      : fail("FORBIDDEN", message);

/** A VALIDATION error with a message of its own and one field problem, both from the catalogue. */
export const invalidWith = (message: Text, path: string, fieldMessage: Text = message) =>
  new AppError("VALIDATION", english(message), { fields: [fieldProblem(path, fieldMessage)] }, message);

/** A VALIDATION error naming one field, the way route validation names them. */
export const invalidField = (path: string, message: string | Text) => {
  const problem = typeof message === "string" ? { path, message } : fieldProblem(path, message);
  // The message names the field, as its English does (`month: …`): 月: … in Japanese.
  const said = typeof message === "string" ? undefined : text("issue.problem", { field: fieldName(path), message });
  return new AppError("VALIDATION", `${path}: ${problem.message}`, { fields: [problem] }, said);
};

/** The name of a field for a reader: its label from the catalogue when it has one, else the path as sent. */
export function fieldLabel(reader: Reader, path: string): string {
  return sayName(reader, fieldName(path));
}

/** A name that is a catalogue message (a field's label) or plain text, for a reader. */
export const sayName = (reader: Reader, name: Text | string): string =>
  typeof name === "string" ? name : say(reader, name);

/**
 * An error's message and field problems as a reader should see them: from the catalogue in their language
 * where the error has its text there, else as raised.
 */
export function localizeError(
  err: AppError,
  reader: Reader,
): { message: string; fields?: FieldProblem[]; translated: boolean } {
  const fields = err.details?.fields as FieldProblem[] | undefined;
  // English is the language messages are raised in: their words stay exactly as raised.
  const words = (raised: string, message?: Text) => (message && reader.lang !== "en" ? say(reader, message) : raised);
  const localFields = fields?.map((f) => ({ path: f.path, message: words(f.message, f.text) }));
  const message = words(err.message, err.text);
  return { message, ...(localFields ? { fields: localFields } : {}), translated: err.text !== undefined };
}
