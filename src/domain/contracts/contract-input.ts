// A contract as the API and the contract form take it: one schema, so the page and the API check the same.
import { z } from "@hono/zod-openapi";
import { NameText } from "../../kernel/text.ts";
import { ROUNDING } from "../timesheets/time.ts";
import { HostLabel } from "../workspace-hosts/host-label.ts";
import { confidentialityLevels, contractTypes, officeRuleModes } from "./contracts.service.ts";

const Yen = z.number().int().min(0).max(1e13);
const Day = z.iso.date().describe("YYYY-MM-DD");

export const Band = z
  .strictObject({
    monthlyFeeYen: Yen.describe("paid for hours within the band"),
    minHours: z.number().min(0).max(744),
    maxHours: z.number().min(0).max(744),
    overRateYen: Yen.describe("per hour above maxHours (超過単価)"),
    underRateYen: Yen.describe("per hour below minHours (控除単価)"),
  })
  .openapi("HoursBand");

const RepoUrl = z
  .string()
  .max(500)
  .regex(
    /^(?:file:\/\/\/\S+|[^\s:]+)$/,
    "must name a repository in the tenant's import folder (a name such as client.git, a path or a file:/// URL); network addresses are never fetched",
  );

export const OfficeRule = z
  .strictObject({
    mode: z.enum(officeRuleModes).describe("required: only these offices' engineers; preferred: theirs ranked first"),
    officeIds: z.array(z.string().min(1).max(128)).max(50).default([]).describe("offices by id"),
    prefectures: z
      .array(z.string().trim().min(1).max(20))
      .max(47)
      .default([])
      .describe("offices in these prefectures, as offices name them (e.g. 長野県)"),
  })
  .openapi("OfficeRule");
export const ContractHostLabels = z
  .strictObject({ office: HostLabel.optional(), zone: HostLabel.optional() })
  .openapi("ContractHostLabels");

const contractFields = {
  client: NameText(200).describe("the end client (発注元)"),
  title: NameText(200),
  confidentiality: z.enum(confidentialityLevels).describe("restricted: data such as My Number"),
  budgetYen: Yen.nullable().optional(),
  periodStart: Day,
  periodEnd: Day,
  band: Band.nullable().optional().describe("準委任 only: the monthly hours band and its rates"),
  leadIds: z.array(z.string().min(1).max(128)).max(20).optional().describe("users with the lead role in this tenant"),
  sourceRepository: RepoUrl.nullable().optional(),
  maxPackageHours: z
    .number()
    .positive()
    .max(2000)
    .optional()
    .describe("packages above this are flagged for splitting (default 80)"),
  hoursRounding: z
    .string()
    .regex(ROUNDING, "must be none, or NNmin-nearest|up|down with NN one of 1, 5, 6, 10, 15, 30, 60")
    .optional()
    .describe("how reported hours are rounded for billing (default none); the raw times are kept beside"),
  paymentTermsDays: z
    .number()
    .int()
    .min(1)
    .max(60, "the Subcontract Act allows at most 60 days from delivery")
    .nullable()
    .optional()
    .describe("days from delivery to payment; at most 60 (the default)"),
  hourlyRateYen: Yen.nullable().optional().describe("請負: yen per estimated hour, for the order's price"),
  requiredApprovals: z
    .number()
    .int()
    .min(1)
    .max(10)
    .optional()
    .describe("approvals a pull request needs before Azusa merges it (default 1)"),
  engineerCloneAllowed: z
    .boolean()
    .optional()
    .describe("whether the package's engineer may clone its repository over HTTP (default false)"),
  allowedNetworks: z
    .array(z.string().max(60))
    .max(100)
    .optional()
    .describe("CIDR blocks SSH and browser sessions may come from, e.g. the office's 203.0.113.0/24; empty: any"),
  recordInput: z
    .boolean()
    .optional()
    .describe("record what the engineer types too, not only the output (default false)"),
  officeRule: OfficeRule.nullable()
    .optional()
    .describe("the offices whose engineers the contract prefers or requires; null (default): any office"),
  hostLabels: ContractHostLabels.optional().describe(
    "labels a workspace host must carry to take this contract's workspaces, besides the template's; {} for any",
  ),
};

/** A new contract as the API and the contract form take it. */
export const NewContract = z.strictObject({ ...contractFields, type: z.enum(contractTypes) }).openapi("NewContract");
/** Changes to a contract: any of its fields but the type. */
export const ContractChanges = z
  .strictObject(
    Object.fromEntries(Object.entries(contractFields).map(([k, v]) => [k, v.optional()])) as {
      [K in keyof typeof contractFields]: z.ZodOptional<(typeof contractFields)[K]>;
    },
  )
  .openapi("ContractChanges");
