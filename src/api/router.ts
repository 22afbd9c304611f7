// The router type every API module builds on: validation failures become one VALIDATION error.
import type { HttpBindings } from "@hono/node-server";
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Actor } from "../domain/actor.ts";
import { AppError } from "../domain/errors.ts";

export interface AppEnv {
  /** The Node request and response, when served by @hono/node-server. */
  Bindings: Partial<HttpBindings>;
  Variables: {
    requestId: string;
    actor: Actor | null;
  };
}

/** A zod issue path as a dotted field name, `body` when the whole body was wrong. */
const fieldName = (path: readonly PropertyKey[]) => (path.length ? path.map(String).join(".") : "body");

/** A router whose failed validations throw `VALIDATION` naming each wrong field. */
export const createRouter = () =>
  new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (result.success) return;
      const fields: { path: string; message: string }[] = [];
      for (const issue of result.error.issues) {
        if (issue.code === "unrecognized_keys") {
          for (const key of issue.keys) {
            fields.push({ path: fieldName([...issue.path, key]), message: "unknown field" });
          }
        } else {
          fields.push({ path: fieldName(issue.path), message: issue.message });
        }
      }
      const summary = fields.map((f) => `${f.path}: ${f.message}`).join("; ");
      throw new AppError("VALIDATION", `invalid ${result.target}: ${summary}`, { fields });
    },
  });

/** The actor of a request that passed the authentication guard. */
export function actorOf(c: { get(key: "actor"): Actor | null }): Actor {
  const actor = c.get("actor");
  if (!actor) throw new AppError("UNAUTHENTICATED", "sign in first");
  return actor;
}
