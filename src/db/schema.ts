// Table types for Kysely. Timestamps are ISO-8601 strings so that SQLite and PostgreSQL agree.
import type { Kysely, Transaction } from "kysely";

/** A prime contractor: the unit of data isolation. */
export interface TenantTable {
  id: string;
  name: string;
  created_at: string;
}

/** better-auth's user table with Azusa's role and tenant columns. */
export interface UserTable {
  id: string;
  name: string;
  email: string;
  emailVerified: boolean | number;
  image: string | null;
  createdAt: Date | string;
  updatedAt: Date | string;
  role: string;
  tenantId: string | null;
}

export interface SessionTable {
  id: string;
  userId: string;
  token: string;
  expiresAt: Date | string;
}

export interface InvitationTable {
  id: string;
  token_hash: string;
  email: string;
  role: string;
  tenant_id: string | null;
  invited_by: string;
  created_at: string;
  expires_at: string;
  accepted_at: string | null;
  revoked_at: string | null;
}

export interface AuditEventTable {
  seq: number;
  at: string;
  actor_id: string | null;
  actor_role: string | null;
  tenant_id: string | null;
  action: string;
  subject: string;
  details: string;
  prev_hash: string;
  hash: string;
}

/** One row that names the last link of the audit chain, so that removing the tail is detected. */
export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: string;
}

export interface ContractTable {
  id: string;
  tenant_id: string;
  client: string;
  title: string;
  type: string;
  confidentiality: string;
  budget_yen: number | string | null;
  period_start: string;
  period_end: string;
  monthly_fee_yen: number | string | null;
  band_min_hours: number | null;
  band_max_hours: number | null;
  over_rate_yen: number | string | null;
  under_rate_yen: number | string | null;
  source_repository: string | null;
  max_package_hours: number;
  /** JSON array of CIDR blocks SSH and browser sessions may come from; "[]" means anywhere. */
  allowed_networks?: string;
  /** 1 when sessions record what the engineer types as well as the output. */
  record_input?: number;
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface ContractLeadTable {
  contract_id: string;
  user_id: string;
}

export interface WbsGroupTable {
  id: string;
  contract_id: string;
  wbs_id: string;
  title: string;
  parent_wbs_id: string | null;
}

export interface WorkPackageTable {
  id: string;
  contract_id: string;
  tenant_id: string;
  wbs_id: string;
  title: string;
  parent_wbs_id: string | null;
  /** JSON: [{ skill, level }] */
  skills: string;
  estimate_hours: number;
  acceptance_criteria: string;
  template: string;
  state: string;
  state_reason: string | null;
  source_row: number | null;
  created_at: string;
  updated_at: string;
}

export interface PackageDependencyTable {
  package_id: string;
  depends_on_id: string;
}

export interface EngineerProfileTable {
  user_id: string;
  weekly_capacity_hours: number;
  time_zone: string;
  invoice_number: string | null;
  created_at: string;
  updated_at: string;
}

export interface EngineerSkillTable {
  user_id: string;
  skill: string;
  level: number;
}

export interface VettingRecordTable {
  id: string;
  user_id: string;
  kind: string;
  issued_on: string;
  expires_on: string;
  expired_at: string | null;
  recorded_by: string;
  created_at: string;
}

export interface SshKeyTable {
  id: string;
  user_id: string;
  type: string;
  bits: number;
  fingerprint: string;
  comment: string;
  public_key: string;
  created_at: string;
}

export interface OfferTable {
  id: string;
  package_id: string;
  engineer_id: string;
  offered_by: string;
  state: string;
  reason: string | null;
  created_at: string;
  expires_at: string;
  responded_at: string | null;
}

export interface AssignmentTable {
  id: string;
  package_id: string;
  engineer_id: string;
  offer_id: string;
  weekly_hours: number;
  started_at: string;
  ended_at: string | null;
  end_reason: string | null;
}

export interface WorkspaceTable {
  id: string;
  assignment_id: string;
  package_id: string;
  tenant_id: string;
  engineer_id: string;
  template: string;
  state: string;
  reason: string;
  container_id: string | null;
  volume: string | null;
  created_at: string;
  updated_at: string;
  /** When something last showed the workspace is in use, and what it was (feeds the idle timer). */
  last_activity_at: string | null;
  last_activity: string | null;
}

/** One SSH or browser-terminal connection's channel into a workspace. */
export interface WorkspaceSessionTable {
  id: string;
  workspace_id: string;
  package_id: string;
  tenant_id: string;
  engineer_id: string;
  channel: string;
  kind: string;
  source_address: string;
  started_at: string;
  ended_at: string | null;
  end_reason: string | null;
  exit_code: number | null;
  recording: string | null;
  key_fingerprint?: string | null;
  exit_signal?: string | null;
}

/** Bytes each way in one 5-minute bucket of a session: evidence beside reported hours, never a timer. */
export interface SessionActivityTable {
  session_id: string;
  bucket_start: string;
  bytes_in: number | string;
  bytes_out: number | string;
}

export interface Database {
  workspace_session: WorkspaceSessionTable;
  session_activity: SessionActivityTable;
  workspace: WorkspaceTable;
  engineer_profile: EngineerProfileTable;
  engineer_skill: EngineerSkillTable;
  vetting_record: VettingRecordTable;
  ssh_key: SshKeyTable;
  offer: OfferTable;
  assignment: AssignmentTable;
  contract: ContractTable;
  contract_lead: ContractLeadTable;
  wbs_group: WbsGroupTable;
  work_package: WorkPackageTable;
  package_dependency: PackageDependencyTable;
  tenant: TenantTable;
  user: UserTable;
  session: SessionTable;
  invitation: InvitationTable;
  audit_event: AuditEventTable;
  audit_head: AuditHeadTable;
}

/** A query runner: the database itself or a transaction on it. */
export type Executor = Kysely<Database> | Transaction<Database>;
