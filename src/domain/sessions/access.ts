// The access decision for every way into a workspace (SSH, the browser terminal, the web IDE, forwards and
// listeners): made here once, at login and again while sessions run; the gateway only carries bytes.
import type { Kysely } from "kysely";
import type { Database, WorkspaceTable } from "../../db/schema.ts";
import { codeOf, english, isLang, type Lang, type Text, text } from "../../kernel/messages.ts";
import type { WorkspaceRef } from "../../provisioner/driver.ts";
import type { WorkspaceTemplate } from "../../templates/templates.ts";
import { defaultPreferences } from "../accounts/preferences.service.ts";
import { inNetworks } from "../contracts/networks.ts";
import type { EngineerService } from "../engineers/engineers.service.ts";
import { workspaceReasonText } from "../workspaces/reasons.ts";
import type { WorkspaceService } from "../workspaces/workspaces.service.ts";

/** Who wants in, from where, over what. */
export interface AccessRequest {
  engineerId: string;
  packageId: string;
  /** The client's address as the transport saw it. */
  source: string;
  transport: "ssh" | "browser";
}

/** What a session may reach, decided by `authorize`. */
export interface Target {
  workspace: WorkspaceTable;
  ref: WorkspaceRef;
  tenantId: string;
  template: WorkspaceTemplate | undefined;
  recordInput: boolean;
  /** The contract is `restricted`: interactive terminals only, no transfer, no forwarding. */
  restricted: boolean;
}

/** Why access is refused or ends: the English words kept as evidence, and the message said to the engineer. */
export interface Said {
  reason: string;
  text: Text;
}

/** A refusal with a stable code (for the audit log and lockout) and words safe to show the engineer. */
export interface Refusal extends Said {
  code: RefusalCode;
}

export type Authorization = { ok: true; target: Target } | ({ ok: false } & Refusal);
/** `revoked`: the transport's own check failed on a later channel (the SSH key was removed). */
export type RefusalCode = "not_assigned" | "vetting" | "no_workspace" | "network" | "revoked";

/**
 * Audit actions of changes that can end someone's access to a workspace (a key removed, an assignment ended, the
 * package cancelled or accepted, vetting lapsed, the contract's networks changed, the workspace disposed): on each,
 * every process checks its live sessions again at once, rather than at its next periodic check.
 */
export const accessEndingActions: ReadonlySet<string> = new Set([
  "engineer.ssh_key_removed",
  "engineer.vetting_expired",
  "offer.withdrawn",
  "assignment.ended",
  "package.transitioned",
  "delivery.accepted",
  "contract.updated",
  "user.role_changed",
  "workspace.disposed",
]);

/** A message with its English words as the evidence. */
export const said = (message: Text): Said => ({ reason: english(message), text: message });

const refuse = (code: RefusalCode, message: Text): Authorization => ({ ok: false, code, ...said(message) });

/** An engineer's registered SSH key, found by its fingerprint, with the language its owner chose (/settings). */
export interface LoginKey {
  id: string;
  userId: string;
  publicKey: string;
  lang: Lang;
}

export interface SessionAccessOptions {
  db: Kysely<Database>;
  engineers: EngineerService;
  workspaces: WorkspaceService;
}

/** The access decisions; `authorize` is the one every transport asks. */
export function createSessionAccess({ db, engineers, workspaces }: SessionAccessOptions) {
  return {
    /** The one decision whether `request` may open sessions: assignment, vetting, workspace, source network. */
    async authorize(request: AccessRequest): Promise<Authorization> {
      const access = await engineers.access(request.engineerId, request.packageId);
      if (!access.ok) {
        const code = access.text.key === "access.vetting" ? "vetting" : "not_assigned";
        return { ok: false, code, reason: access.reason, text: access.text };
      }
      const workspace = await db
        .selectFrom("workspace")
        .selectAll()
        .where("package_id", "=", request.packageId)
        .where("engineer_id", "=", request.engineerId)
        .orderBy("created_at", "desc")
        .executeTakeFirst();
      if (!workspace || workspace.state === "destroyed" || !workspace.container_id || !workspace.volume) {
        return refuse("no_workspace", text(workspace?.state === "destroyed" ? "access.destroyed" : "access.notReady"));
      }
      if (workspace.state !== "running" && workspace.state !== "stopped") {
        // a failed one says why (a provisioning or a checkout that went wrong)
        return refuse(
          "no_workspace",
          workspace.state === "failed"
            ? text("access.workspaceFailed", { why: workspaceReasonText(workspace.reason ?? "") })
            : text("access.workspaceState", { state: codeOf("workspaceState", workspace.state) }),
        );
      }
      // Handed over before its code is checked out: nobody gets in to an empty workspace; they wait for it.
      if (!workspace.prepared_at) {
        const ready = await workspaces.ready(workspace.id);
        if (!ready.ok) return { ok: false, code: "no_workspace", reason: ready.reason, text: ready.text };
      }
      const contract = await db
        .selectFrom("work_package")
        .innerJoin("contract", "contract.id", "work_package.contract_id")
        .select([
          "contract.allowed_networks",
          "contract.record_input",
          "contract.tenant_id",
          "contract.confidentiality",
        ])
        .where("work_package.id", "=", request.packageId)
        .executeTakeFirstOrThrow();
      const networks = JSON.parse(contract.allowed_networks ?? "[]") as string[];
      if (!inNetworks(request.source, networks)) {
        return refuse("network", text("access.network", { source: request.source }));
      }
      const template = (await workspaces.templates()).get(workspace.template);
      return {
        ok: true,
        target: {
          workspace,
          ref: { id: workspace.id, containerId: workspace.container_id, volume: workspace.volume },
          tenantId: contract.tenant_id,
          template,
          recordInput: Number(contract.record_input) === 1,
          restricted: contract.confidentiality === "restricted",
        },
      };
    },

    /** The engineer's key with this fingerprint ("SHA256:…"), or null: only engineers log in with a key. */
    async loginKey(fingerprint: string): Promise<LoginKey | null> {
      const key = await db
        .selectFrom("ssh_key")
        .innerJoin("user", "user.id", "ssh_key.user_id")
        .leftJoin("user_preference", "user_preference.user_id", "user.id")
        .select(["ssh_key.id", "ssh_key.user_id", "ssh_key.public_key", "user_preference.language"])
        .where("ssh_key.fingerprint", "=", fingerprint)
        .where("user.role", "=", "engineer")
        .executeTakeFirst();
      if (!key) return null;
      const lang = isLang(key.language) ? key.language : defaultPreferences.language;
      return { id: key.id, userId: key.user_id, publicKey: key.public_key, lang };
    },

    /** Null while the key is still registered; why its sessions end once it is not. */
    async keyRevoked(keyId: string): Promise<Said | null> {
      const row = await db.selectFrom("ssh_key").select("id").where("id", "=", keyId).executeTakeFirst();
      return row ? null : said(text("access.keyRemoved"));
    },
  };
}

export type SessionAccess = ReturnType<typeof createSessionAccess>;
