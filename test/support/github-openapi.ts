// GitHub's own description of its REST API (the @octokit/openapi package: api.github.com, OpenAPI 3.0.3), used to
// hold the loopback GitHub stand-in to it: the requests Azusa sends (operation, query parameters, JSON body) and
// the responses the stand-in returns (a status the operation documents, a body that fits its schema), and the
// webhook payloads the tests deliver to Azusa (the description's `x-webhooks`). Formats
// (date-time, uri…) are not checked; types, required properties, enums and nullability are.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Ajv, type ValidateFunction } from "ajv";

type Json = Record<string, unknown>;

interface Operation {
  parameters?: Json[];
  requestBody?: Json;
  responses: Record<string, Json>;
}

interface Route {
  template: string;
  pattern: RegExp;
  /** Literal characters in the template: the most specific route wins. */
  literal: number;
  item: Record<string, unknown>;
}

const METHODS = ["get", "put", "post", "delete", "patch", "head"];

/** Checks of requests and responses against GitHub's description; each returns what does not fit (empty: fits). */
export interface GithubDescription {
  request(method: string, url: string, body: unknown): string[];
  response(method: string, url: string, status: number, body: unknown): string[];
  /** A webhook delivery's payload against the description's `x-webhooks` entry for its event and action. */
  webhook(event: string, payload: { action?: unknown }): string[];
  /** A copy of one of the examples GitHub publishes with the description (`components.examples`). */
  example(name: string): Json;
}

let loaded: GithubDescription | undefined;

/**
 * OpenAPI 3.0's `nullable: true` as JSON Schema (`anyOf` the schema or null): GitHub's description puts it beside
 * `allOf`, `anyOf` and `enum` as well as `type`, which Ajv's own reading of `nullable` does not take.
 */
function nullables(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(nullables);
  if (!value || typeof value !== "object") return value;
  const { nullable, ...rest } = value as Json;
  const out = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, nullables(v)]));
  return nullable === true ? { anyOf: [out, { type: "null" }] } : nullable === undefined ? out : { nullable, ...out };
}

/** GitHub's description of api.github.com, read once per process (a 13 MB document). */
export function githubDescription(): GithubDescription {
  loaded ??= load();
  return loaded;
}

function load(): GithubDescription {
  const require = createRequire(import.meta.url);
  const doc = JSON.parse(
    readFileSync(require.resolve("@octokit/openapi/generated/api.github.com.json"), "utf8"),
  ) as Json & { paths: Record<string, Record<string, unknown>>; components: Json };
  // The components under their own id, so that a schema taken out of an operation keeps its references.
  const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true, validateSchema: false });
  const components = nullables(doc.components);
  ajv.addSchema({ $id: "github", components });
  // Query parameters arrive as text: coerced to the types GitHub names.
  const query = new Ajv({
    strict: false,
    validateFormats: false,
    allErrors: true,
    coerceTypes: true,
    validateSchema: false,
  });
  query.addSchema({ $id: "github", components });
  const compiled = new Map<string, ValidateFunction>();
  const compile = (key: string, schema: unknown, on = ajv) => {
    let fn = compiled.get(key);
    if (!fn) {
      fn = on.compile(JSON.parse(JSON.stringify(nullables(schema)).replaceAll('"$ref":"#/', '"$ref":"github#/')));
      compiled.set(key, fn);
    }
    return fn;
  };

  /** Follows a `#/…` reference within the document. */
  const deref = <T>(value: unknown): T => {
    let v = value as Json;
    while (typeof v?.$ref === "string" && (v.$ref as string).startsWith("#/")) {
      v = (v.$ref as string)
        .slice(2)
        .split("/")
        .reduce<unknown>((o, k) => (o as Json)?.[k.replaceAll("~1", "/").replaceAll("~0", "~")], doc) as Json;
    }
    return v as T;
  };

  const routes: Route[] = Object.entries(doc.paths).map(([template, item]) => ({
    template,
    pattern: new RegExp(
      `^${template
        .split(/(\{[^}]+\})/)
        .map((part) => (part.startsWith("{") ? "[^/]+" : part.replace(/[.*+?^$()|[\]\\]/g, "\\$&")))
        .join("")}$`,
    ),
    literal: template.replace(/\{[^}]+\}/g, "").length,
    item,
  }));

  /** The operation a request names, or why there is none. */
  function operation(method: string, url: string): { op: Operation; where: string; params: Json[] } | string {
    const path = url.split("?")[0] ?? "/";
    const m = method.toLowerCase();
    const found = routes.filter((r) => r.pattern.test(path)).sort((a, b) => b.literal - a.literal);
    if (!found.length) return `${method.toUpperCase()} ${path}: no such path in GitHub's description`;
    const route = found.find((r) => METHODS.includes(m) && r.item[m]);
    if (!route) return `${method.toUpperCase()} ${path}: GitHub's ${found[0]?.template} has no ${m.toUpperCase()}`;
    const op = route.item[m] as Operation;
    const params = [...((route.item.parameters as Json[]) ?? []), ...(op.parameters ?? [])].map((p) => deref<Json>(p));
    return { op, where: `${m.toUpperCase()} ${route.template}`, params };
  }

  const said = (where: string, what: string, fn: ValidateFunction) =>
    (fn.errors ?? []).map((e) => `${where}: ${what}${e.instancePath || ""} ${e.message}`);

  return {
    request(method, url, body) {
      const found = operation(method, url);
      if (typeof found === "string") return [found];
      const { op, where, params } = found;
      const problems: string[] = [];
      const declared = params.filter((p) => p.in === "query");
      const given = Object.fromEntries(new URL(url, "http://stand-in").searchParams);
      const querySchema = {
        type: "object",
        properties: Object.fromEntries(declared.map((p) => [p.name as string, p.schema ?? {}])),
        required: declared.filter((p) => p.required).map((p) => p.name as string),
        additionalProperties: false,
      };
      const q = compile(`query ${where}`, querySchema, query);
      if (!q({ ...given })) problems.push(...said(where, "query", q));
      const requestBody = op.requestBody ? deref<Json>(op.requestBody) : undefined;
      const schema = (requestBody?.content as Record<string, Json> | undefined)?.["application/json"]?.schema;
      if (body !== undefined && !schema) problems.push(`${where}: takes no JSON body`);
      if (body === undefined && requestBody?.required) problems.push(`${where}: needs a JSON body`);
      if (body !== undefined && schema) {
        const fn = compile(`body ${where}`, schema);
        if (!fn(body)) problems.push(...said(where, "body", fn));
      }
      return problems;
    },

    webhook(event, payload) {
      const name = `${event}-${String(payload.action ?? "")}`.replaceAll("_", "-");
      const described = (doc["x-webhooks"] as Record<string, { post?: Operation }> | undefined)?.[name]?.post;
      const requestBody = described?.requestBody ? deref<Json>(described.requestBody) : undefined;
      const schema = (requestBody?.content as Record<string, Json> | undefined)?.["application/json"]?.schema;
      if (!schema) return [`webhook ${name}: no such event and action in GitHub's description`];
      const fn = compile(`webhook ${name}`, schema);
      return fn(payload) ? [] : said(`webhook ${name}`, "payload", fn);
    },

    example(name) {
      const found = (doc.components.examples as Record<string, { value?: unknown }> | undefined)?.[name]?.value;
      if (found === undefined) throw new Error(`GitHub's description has no example ${name}`);
      return structuredClone(found) as Json;
    },

    response(method, url, status, body) {
      const found = operation(method, url);
      if (typeof found === "string") return [found];
      const { op, where } = found;
      const described = op.responses[String(status)] ?? op.responses.default;
      if (!described) return [`${where}: GitHub does not answer ${status}`];
      const response = deref<Json>(described);
      const schema = (response.content as Record<string, Json> | undefined)?.["application/json"]?.schema;
      if (!schema) return body === undefined ? [] : [`${where} ${status}: GitHub answers no JSON body`];
      const fn = compile(`response ${where} ${status}`, schema);
      return fn(body) ? [] : said(`${where} ${status}`, "response", fn);
    },
  };
}
