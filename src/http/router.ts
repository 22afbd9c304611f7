// The router type every API module builds on: validation failures become one VALIDATION error.
import type { HttpBindings } from "@hono/node-server";
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Result, Router } from "hono/router";
import { RegExpRouter } from "hono/router/reg-exp-router";
import { SmartRouter } from "hono/router/smart-router";
import { TrieRouter } from "hono/router/trie-router";
import type { Principal } from "../auth/credentials.ts";
import type { Actor } from "../kernel/actor.ts";
import { AppError, type FieldProblem, fail, fieldProblem } from "../kernel/errors.ts";
import { type IssueLike, issueText, fieldName as labelOf, text } from "../kernel/messages.ts";

export interface AppEnv {
  /** The Node request and response, when served by @hono/node-server. */
  Bindings: Partial<HttpBindings>;
  Variables: {
    requestId: string;
    actor: Actor | null;
    /** The signed-in user as the credential check read them (`actor` is who acts; this adds the profile). */
    principal: Principal | null;
  };
}

/** A zod issue path as a dotted field name, `body` when the whole body was wrong. */
const fieldName = (path: readonly PropertyKey[]) => (path.length ? path.map(String).join(".") : "body");

/**
 * Hono's default router, remembering what it matched for the last `size` method-and-path pairs. Azusa's routes
 * do not suit the RegExp router (a static `/packages/merge` after `/packages/:id`), so matching walks a trie of
 * some three hundred routes on every request; a match depends on nothing but the method and the path.
 */
export class MemoRouter<T> implements Router<T> {
  readonly name = "MemoRouter";
  readonly #inner: Router<T> = new SmartRouter<T>({ routers: [new RegExpRouter(), new TrieRouter()] });
  readonly #matches = new Map<string, Result<T>>();

  constructor(private readonly size = 1_000) {}

  /** How many method-and-path pairs are remembered. */
  get remembered(): number {
    return this.#matches.size;
  }

  add(method: string, path: string, handler: T): void {
    this.#matches.clear();
    this.#inner.add(method, path, handler);
  }

  match(method: string, path: string): Result<T> {
    const key = `${method} ${path}`;
    let result = this.#matches.get(key);
    if (result === undefined) {
      result = this.#inner.match(method, path);
      // Paths carry ids, so the pairs are many: the oldest goes first, and a flood of new paths costs no memory.
      if (this.#matches.size >= this.size) {
        const oldest = this.#matches.keys().next().value;
        if (oldest !== undefined) this.#matches.delete(oldest);
      }
      this.#matches.set(key, result);
    }
    return result;
  }
}

/**
 * A router whose failed validations throw `VALIDATION` naming each wrong field. `memo` gives the application that
 * serves requests a `MemoRouter`; the modules mounted into it need none (their routes are copied into it).
 */
export const createRouter = ({ memo = false }: { memo?: boolean } = {}) =>
  new OpenAPIHono<AppEnv>({
    ...(memo ? { router: new MemoRouter() } : {}),
    defaultHook: (result) => {
      if (result.success) return;
      const fields: FieldProblem[] = [];
      for (const issue of result.error.issues) {
        if (issue.code === "unrecognized_keys") {
          for (const key of issue.keys) {
            fields.push(fieldProblem(fieldName([...issue.path, key]), text("issue.unknownField")));
          }
        } else {
          const path = fieldName(issue.path);
          const said = issueText(issue as IssueLike);
          fields.push(said ? { path, message: issue.message, text: said } : { path, message: issue.message });
        }
      }
      const summary = fields.map((f) => `${f.path}: ${f.message}`).join("; ");
      const problems = fields.map((f) =>
        text("issue.problem", { field: labelOf(f.path), message: f.text ?? f.message }),
      );
      throw new AppError(
        "VALIDATION",
        `invalid ${result.target}: ${summary}`,
        { fields },
        text("issue.summary", { target: result.target, problems }),
      );
    },
  });

/** The actor of a request that passed the authentication guard. */
export function actorOf(c: { get(key: "actor"): Actor | null }): Actor {
  const actor = c.get("actor");
  if (!actor) throw fail("UNAUTHENTICATED", text("error.signIn"));
  return actor;
}
