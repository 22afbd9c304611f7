// HTTP for contracts, their WBS import and their plan.
import { createRoute, z } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import {
  Band,
  ContractChanges,
  ContractHostLabels,
  NewContract,
  OfficeRule,
} from "../../domain/contracts/contract-input.ts";
import {
  type ContractService,
  confidentialityLevels,
  contractTypes,
} from "../../domain/contracts/contracts.service.ts";
import type { PackageService } from "../../domain/packages/packages.service.ts";
import type { WbsImportService } from "../../domain/wbs/wbs-import.service.ts";
import type { WbsFormat } from "../../domain/wbs/wbs-parse.ts";
import { errorResponses } from "../../http/errors.ts";
import { actorOf, createRouter } from "../../http/router.ts";
import { fail, invalidWith } from "../../kernel/errors.ts";
import { text } from "../../kernel/messages.ts";
import { WorkPackage } from "../packages/packages.routes.ts";
import { IdParam, json } from "../schemas.ts";

const Contract = z
  .object({
    id: z.string(),
    tenantId: z.string(),
    client: z.string(),
    title: z.string(),
    type: z.enum(contractTypes),
    confidentiality: z.enum(confidentialityLevels),
    budgetYen: z.number().nullable(),
    periodStart: z.string(),
    periodEnd: z.string(),
    band: Band.nullable(),
    leadIds: z.array(z.string()),
    sourceRepository: z.string().nullable(),
    maxPackageHours: z.number(),
    hoursRounding: z.string(),
    paymentTermsDays: z.number().nullable(),
    hourlyRateYen: z.number().nullable(),
    requiredApprovals: z.number(),
    engineerCloneAllowed: z.boolean(),
    allowedNetworks: z.array(z.string()),
    recordInput: z.boolean(),
    officeRule: OfficeRule.nullable(),
    hostLabels: ContractHostLabels,
    createdBy: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Contract");

const Plan = z
  .object({
    totalHours: z.number(),
    criticalPath: z.array(z.object({ id: z.string(), wbsId: z.string() })),
    packages: z.array(
      z.object({
        id: z.string(),
        wbsId: z.string(),
        earliestStartHours: z.number(),
        earliestFinishHours: z.number(),
        slackHours: z.number(),
        critical: z.boolean(),
      }),
    ),
  })
  .openapi("Plan");

const ImportResult = z
  .object({
    format: z.enum(["csv", "json", "yaml", "xlsx"]),
    ignoredColumns: z.array(z.string()),
    groups: z.number(),
    packages: z.array(
      z.object({
        id: z.string(),
        wbsId: z.string(),
        title: z.string(),
        estimateHours: z.number(),
        oversized: z.boolean(),
        dependsOn: z.array(z.string()),
      }),
    ),
    oversized: z.array(z.string()).describe("WBS ids above the contract's package size"),
    plan: Plan,
  })
  .openapi("WbsImportResult");

const create = createRoute({
  method: "post",
  path: "/contracts",
  tags: ["contracts"],
  summary: "Create a contract (contractors of the tenant)",
  request: { body: { required: true, content: json(NewContract) } },
  responses: { 201: { description: "Created", content: json(Contract) }, ...errorResponses },
});

const list = createRoute({
  method: "get",
  path: "/contracts",
  tags: ["contracts"],
  summary: "Contracts visible to the caller: the tenant's for contractors, the ones they lead for leads",
  responses: {
    200: { description: "Contracts", content: json(z.object({ items: z.array(Contract) })) },
    ...errorResponses,
  },
});

const get = createRoute({
  method: "get",
  path: "/contracts/{id}",
  tags: ["contracts"],
  summary: "One contract",
  request: { params: IdParam },
  responses: { 200: { description: "The contract", content: json(Contract) }, ...errorResponses },
});

const update = createRoute({
  method: "patch",
  path: "/contracts/{id}",
  tags: ["contracts"],
  summary: "Change a contract (contractors of the tenant)",
  request: { params: IdParam, body: { required: true, content: json(ContractChanges) } },
  responses: { 200: { description: "The contract", content: json(Contract) }, ...errorResponses },
});

const wbsFile = { schema: z.string().openapi({ format: "binary" }) };
const importWbs = createRoute({
  method: "post",
  path: "/contracts/{id}/wbs",
  tags: ["contracts"],
  summary: "Import the WBS: leaves become draft packages (replaces a WBS whose packages are all drafts)",
  description:
    "Send the file as the body with its content type (text/csv in UTF-8 or Shift_JIS, application/json, application/yaml, or the xlsx type), or as the `file` field of multipart/form-data. `?format=` overrides detection. Japanese headers (作業名, 見積工数, 依存, …) are accepted beside English ones. A refused file names each row and field and imports nothing.",
  request: {
    params: IdParam,
    query: z.strictObject({ format: z.enum(["csv", "json", "yaml", "xlsx"]).optional() }),
    body: {
      required: true,
      content: {
        "text/csv": wbsFile,
        "application/yaml": wbsFile,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": wbsFile,
        "application/octet-stream": wbsFile,
      },
    },
  },
  responses: {
    201: { description: "Imported", content: json(ImportResult) },
    413: { description: "The file is larger than AZUSA_WBS_LIMIT", content: errorResponses[400].content },
    ...errorResponses,
  },
});

const plan = createRoute({
  method: "get",
  path: "/contracts/{id}/plan",
  tags: ["contracts"],
  summary: "Earliest start, slack and critical path of the contract's packages",
  request: { params: IdParam },
  responses: { 200: { description: "The plan", content: json(Plan) }, ...errorResponses },
});

const packages = createRoute({
  method: "get",
  path: "/contracts/{id}/packages",
  tags: ["packages"],
  summary: "The contract's work packages",
  request: { params: IdParam },
  responses: {
    200: { description: "Packages", content: json(z.object({ items: z.array(WorkPackage) })) },
    ...errorResponses,
  },
});

/** The file of a WBS upload: the raw body, or the `file` field of a multipart form. */
async function readUpload(req: Request): Promise<{ bytes: Uint8Array; filename?: string; contentType?: string }> {
  const contentType = req.headers.get("content-type") ?? undefined;
  if (contentType?.startsWith("multipart/form-data")) {
    const form = await req.formData().catch(() => null);
    const file = form?.get("file");
    if (!file || typeof file === "string") {
      throw invalidWith(text("wbs.noFileField"), "file", text("issue.required"));
    }
    return {
      bytes: new Uint8Array(await file.arrayBuffer()),
      filename: file.name,
      contentType: file.type || undefined,
    };
  }
  return { bytes: new Uint8Array(await req.arrayBuffer()), contentType };
}

export const contractRoutes = (deps: {
  contracts: ContractService;
  packages: PackageService;
  wbs: WbsImportService;
  wbsLimit: number;
}) => {
  const router = createRouter();
  // A WBS is larger than any other body; its own limit replaces the general one on this route.
  router.use(
    "/contracts/:id/wbs",
    bodyLimit({
      maxSize: deps.wbsLimit,
      onError: () => {
        throw fail("PAYLOAD_TOO_LARGE", text("wbs.tooLarge", { bytes: deps.wbsLimit }));
      },
    }),
  );
  return router
    .openapi(create, async (c) => c.json(await deps.contracts.create(actorOf(c), c.req.valid("json")), 201))
    .openapi(list, async (c) => c.json({ items: await deps.contracts.list(actorOf(c)) }, 200))
    .openapi(get, async (c) => c.json(await deps.contracts.get(actorOf(c), c.req.valid("param").id), 200))
    .openapi(update, async (c) =>
      c.json(await deps.contracts.update(actorOf(c), c.req.valid("param").id, c.req.valid("json")), 200),
    )
    .openapi(importWbs, async (c) => {
      const actor = actorOf(c);
      const { id } = c.req.valid("param");
      const { format } = c.req.valid("query");
      const upload = await readUpload(c.req.raw);
      const result = await deps.wbs.import(actor, id, { ...upload, format: format as WbsFormat | undefined });
      return c.json(result, 201);
    })
    .openapi(plan, async (c) => c.json(await deps.packages.plan(actorOf(c), c.req.valid("param").id), 200))
    .openapi(packages, async (c) =>
      c.json({ items: await deps.packages.listByContract(actorOf(c), c.req.valid("param").id) }, 200),
    );
};
