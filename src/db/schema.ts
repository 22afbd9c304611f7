// Table types for Kysely. Timestamps are ISO-8601 strings so that SQLite and PostgreSQL agree.
import type { Generated, Kysely, Transaction } from "kysely";

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
  /** ja | en: what the invitation e-mail is written in, and the new account's language once accepted. */
  language: string;
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
  /** 1 once the chain is linked under AZUSA_AUDIT_KEY. */
  keyed: Generated<number>;
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
  /** How reported hours are rounded for billing (`none`, `15min-nearest`, …); the raw time is kept too. */
  hours_rounding?: string;
  /** Days from delivery to payment; never more than the Subcontract Act's 60. */
  payment_terms_days?: number | null;
  /** 請負: the price of a package is its estimate in hours times this rate, fixed in the order. */
  hourly_rate_yen?: number | string | null;
  source_repository: string | null;
  max_package_hours: number;
  /** Approvals a pull request needs before Azusa merges it (default 1). */
  required_approvals?: number;
  /** 1 when the contract lets its engineers clone the canonical repository over HTTP. */
  engineer_clone_allowed?: number;
  /** JSON array of CIDR blocks SSH and browser sessions may come from; "[]" means anywhere. */
  allowed_networks?: string;
  /** 1 when sessions record what the engineer types as well as the output. */
  record_input?: number;
  /** JSON `{ mode: "preferred" | "required", officeIds, prefectures }`: whose engineers the contract wants; null: any. */
  office_rule?: string | null;
  /** The office label a workspace host must carry to take this contract's workspaces; null: any. */
  host_office?: string | null;
  /** The zone label a workspace host must carry to take this contract's workspaces; null: any. */
  host_zone?: string | null;
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
  /** When its prepare hook (the checkout of the package's fork) finished; null until then. */
  prepared_at: string | null;
  /** The workspace host it was placed on; null for one made before hosts existed (the host `local`). */
  host_id: string | null;
}

/** A Docker engine workspaces run on: `default` is the one DOCKER_HOST names, present from the start. */
export interface WorkspaceHostTable {
  id: string;
  name: string;
  kind: string;
  socket_path: string | null;
  address: string | null;
  port: number | null;
  ca: string | null;
  cert: string | null;
  key_sealed: string | null;
  office: string | null;
  tenant_id: string | null;
  zone: string | null;
  cpus: number;
  memory_mib: number;
  disk_mib: number;
  max_workspaces: number;
  /** 1 when an operator lets this host (over TLS: its volumes cannot be limited) take workspaces of the default size. */
  unlimited_volumes?: number;
  state: string;
  state_reason: string;
  created_at: string;
  updated_at: string;
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
  /** The exact command line of an exec session (an SFTP session's server command too). */
  command?: string | null;
  /** The SSH subsystem asked for ("sftp"), when the session is one. */
  subsystem?: string | null;
  /** The recording's size on disk (compressed). */
  recording_bytes?: number | string | null;
  /** The recording's size as the plain asciicast v2 a download yields. */
  recording_plain_bytes?: number | string | null;
  /** When the recording reached its cap; the session went on unrecorded from then. */
  recording_truncated_at?: string | null;
  /** The Azusa process (its instance id) that runs or ran the session. */
  instance?: string | null;
}

/** Bytes each way in one 5-minute bucket of a session: evidence beside reported hours, never a timer. */
export interface SessionActivityTable {
  session_id: string;
  bucket_start: string;
  bytes_in: number | string;
  bytes_out: number | string;
}

/** Hours an engineer reported for a package: raw as given, with the rounded figure beside it. */
export interface TimeEntryTable {
  id: string;
  engineer_id: string;
  package_id: string;
  contract_id: string;
  tenant_id: string;
  start_at: string | null;
  end_at: string | null;
  time_zone: string;
  start_given: string | null;
  end_given: string | null;
  work_date: string | null;
  raw_minutes: number;
  rounded_minutes: number;
  rounding_rule: string;
  note: string;
  created_at: string;
}

/** One engineer's week (Monday, Asia/Tokyo) on one contract. */
export interface TimesheetTable {
  id: string;
  engineer_id: string;
  contract_id: string;
  tenant_id: string;
  week_start: string;
  state: string;
  reason: string | null;
  submitted_at: string | null;
  decided_at: string | null;
  decided_by: string | null;
  updated_at: string;
}

export interface SettlementAdjustmentTable {
  id: string;
  contract_id: string;
  engineer_id: string;
  month: string;
  amount_yen: number | string;
  reason: string;
  created_by: string;
  created_at: string;
}

/** A 準委任 month closed by the contractor, with its settlements as they were at the close. */
export interface SettlementCloseTable {
  contract_id: string;
  month: string;
  tenant_id: string;
  /** JSON of the month's settlements. */
  settlements: string;
  /** JSON of the month's 請負 task lines as closed; null for a month closed before they were kept. */
  task_lines: string | null;
  closed_by: string;
  closed_at: string;
}

/** A 請負 delivery and its inspection (検収). */
export interface DeliveryTable {
  id: string;
  package_id: string;
  contract_id: string;
  tenant_id: string;
  engineer_id: string;
  note: string;
  delivered_at: string;
  payment_due_on: string;
  decision: string | null;
  reasons: string | null;
  decided_at: string | null;
  decided_by: string | null;
  /** The Tokyo day the contractor recorded the payment of an accepted delivery; null until paid. */
  paid_on?: string | null;
  paid_by?: string | null;
}

/** Who runs a schedule now, until when, and for which minute. */
export interface JobLockTable {
  name: string;
  owner: string;
  expires_at: string;
  slot: string;
}

/** One sign-in attempt or failure under a key (`web:<address>`, `ssh-addr:<address>`…), in ms since the epoch. */
export interface SignInAttemptTable {
  id: string;
  key: string;
  at: number | string;
}

/** A key locked out until `until` (ms since the epoch). */
export interface SignInLockTable {
  key: string;
  until: number | string;
}

export interface NotificationTable {
  id: string;
  user_id: string;
  tenant_id: string | null;
  kind: string;
  title: string;
  body: string;
  subject: string;
  dedupe_key: string;
  created_at: string;
  read_at: string | null;
}

/** An e-mail to send by SMTP; `state` pending | sent | failed. */
export interface MailOutboxTable {
  id: string;
  to_address: string;
  subject: string;
  body: string;
  kind: string;
  state: string;
  attempts: number;
  next_attempt_at: string | null;
  last_error: string | null;
  created_at: string;
  sent_at: string | null;
}

export interface UserPreferenceTable {
  user_id: string;
  language: string;
  email_notices: number;
  updated_at: string;
}

export interface WebhookTable {
  id: string;
  tenant_id: string;
  url: string;
  secret: string;
  created_by: string;
  created_at: string;
  removed_at: string | null;
}

export interface WebhookDeliveryTable {
  id: string;
  webhook_id: string;
  tenant_id: string;
  event: string;
  payload: string;
  state: string;
  attempts: number;
  next_attempt_at: string | null;
  created_at: string;
  delivered_at: string | null;
}

export interface WebhookAttemptTable {
  delivery_id: string;
  attempt: number;
  at: string;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

/** A package's canonical repository: on the built-in forge or on GitHub. */
export interface RepositoryTable {
  package_id: string;
  tenant_id: string;
  forge: string;
  name: string;
  default_branch: string;
  created_at: string;
}

/** A pull request from a workspace fork's branch (or a GitHub branch) to the canonical default branch. */
export interface PullRequestTable {
  id: string;
  package_id: string;
  tenant_id: string;
  number: number;
  workspace_id: string | null;
  author_id: string | null;
  title: string;
  description: string;
  source_branch: string;
  target_branch: string;
  head_sha: string;
  state: string;
  merge_sha: string | null;
  merged_by: string | null;
  merged_at: string | null;
  external_id: string | null;
  created_at: string;
  updated_at: string;
}

/** A review, bound to the head commit it judged; a later head dismisses it. */
export interface PullReviewTable {
  id: string;
  pull_request_id: string;
  reviewer_id: string | null;
  reviewer_login: string | null;
  verdict: string;
  commit_sha: string;
  body: string;
  dismissed_at: string | null;
  dismiss_reason: string | null;
  external_id: string | null;
  created_at: string;
}

export interface ReviewCommentTable {
  id: string;
  review_id: string;
  path: string;
  line: number;
  body: string;
}

/** A tenant's GitHub organization and the token Azusa uses there (a secret). */
export interface TenantGithubTable {
  tenant_id: string;
  organization: string;
  token: string;
  webhook_secret: string;
  updated_at: string;
}

/** A satellite office (サテライトオフィス): where operators and engineers live and work. */
export interface OfficeTable {
  id: string;
  name: string;
  prefecture: string;
  town: string;
  address: string;
  /** IANA zone, e.g. Asia/Tokyo. */
  time_zone: string;
  contact: string;
  /** Public description, shown to anyone thinking of working there. */
  description: string;
  created_at: string;
  updated_at: string;
}

/** Where an operator or an engineer belongs: one office per person. */
export interface OfficeMemberTable {
  user_id: string;
  office_id: string;
  since: string;
}

/** One section of an office's life guide (移住・生活情報), in Markdown. */
export interface OfficeGuideSectionTable {
  office_id: string;
  /** housing, childcare, medical, transport, coworking or support. */
  section: string;
  body_ja: string;
  /** The English version, when the office's operators wrote one. */
  body_en: string | null;
  /** When an operator last wrote or confirmed the section; a year later they are told to look again. */
  reviewed_at: string;
  updated_at: string;
  updated_by: string;
}

/** Someone thinking of moving to an office, as they registered on its public page. */
export interface InterestRegistrationTable {
  id: string;
  office_id: string;
  name: string;
  email: string;
  /** JSON: [{ skill, level }], ITSS levels 1–7. */
  skills: string;
  moving_when: string;
  /** The consent text they agreed to, word for word. */
  consent_text: string;
  created_at: string;
  invitation_id: string | null;
  invited_at: string | null;
}

/** An operator who manages every office. */
export interface OfficeAdminTable {
  user_id: string;
  granted_by: string;
  granted_at: string;
}

/** An engineer's own statement of when they usually work, in `time_zone`; never a control of working times. */
export interface AvailabilityTable {
  user_id: string;
  time_zone: string;
  updated_at: string;
  /** The largest package the engineer wants, in estimated hours; null: no limit. */
  largest_package_hours: number | null;
}

/** One weekly window: ISO weekday (1 Monday … 7 Sunday), minutes from local midnight, end exclusive. */
export interface AvailabilityWindowTable {
  user_id: string;
  weekday: number;
  start_minute: number;
  end_minute: number;
}

/** Days (inclusive, local dates) when the engineer is away whatever the weekly windows say. */
export interface AvailabilityExceptionTable {
  user_id: string;
  from_day: string;
  to_day: string;
  note: string;
}

/** A batch of task work on a contract: its field schema (JSON) and what an accepted item pays. */
export interface TaskBatchTable {
  id: string;
  tenant_id: string;
  contract_id: string;
  title: string;
  fields: string;
  unit_price_yen: number | null;
  retention_until: string;
  /** JSON array of the vetting kinds the batch names (`my_number` is added for individual-number fields). */
  vetting: string;
  created_by: string;
  created_at: string;
  updated_at: string;
}

/** One item of a batch: a row to key or verify, as the CSV gave it (JSON, header → value). */
export interface TaskItemTable {
  id: string;
  batch_id: string;
  seq: number;
  source: string;
  created_at: string;
  /** Entries taken so far, at most two. */
  claims: Generated<number>;
  /** open, agreed, disputed, adjudicated. */
  state: Generated<string>;
  /** The accepted values (JSON, individual numbers sealed), once agreed or adjudicated. */
  result: string | null;
  adjudicated_by: string | null;
  adjudicated_at: string | null;
}

/** What was destroyed of a batch at its end, and how: kept after the values are gone. */
export interface TaskDisposalTable {
  id: string;
  batch_id: string;
  tenant_id: string;
  reason: string;
  items: number;
  entries: number;
  individual_numbers: number;
  /** Document pages destroyed. */
  documents: Generated<number>;
  method: string;
  disposed_by: string;
  disposed_at: string;
}

/** One page of a task item's document: an image, its file name and bytes (base64) each sealed for the row. */
export interface TaskDocumentTable {
  id: string;
  batch_id: string;
  item_id: string;
  page: number;
  media_type: string;
  width: number;
  height: number;
  name: string;
  body: string;
  created_at: string;
}

/** An engineer named to key a batch's items. */
export interface TaskKeyerTable {
  batch_id: string;
  user_id: string;
  added_by: string;
  added_at: string;
}

/** An engineer a lead lets decide a batch's disputed items (or every batch of the contract: batch_id null). */
export interface TaskAdjudicatorTable {
  id: string;
  tenant_id: string;
  contract_id: string;
  batch_id: string | null;
  user_id: string;
  granted_by: string;
  granted_at: string;
  revoked_by: string | null;
  revoked_at: string | null;
}

/** One keyer's entry of an item: taken, then sent with its values (JSON, individual numbers sealed). */
export interface TaskEntryTable {
  id: string;
  batch_id: string;
  item_id: string;
  user_id: string;
  values: string | null;
  taken_at: string;
  submitted_at: string | null;
  agreed: number | null;
  /** When the item was given back for being held too long without a send; null otherwise. */
  reclaimed_at: string | null;
}

export interface Database {
  availability: AvailabilityTable;
  availability_window: AvailabilityWindowTable;
  availability_exception: AvailabilityExceptionTable;
  task_batch: TaskBatchTable;
  task_item: TaskItemTable;
  task_keyer: TaskKeyerTable;
  task_adjudicator: TaskAdjudicatorTable;
  task_entry: TaskEntryTable;
  task_disposal: TaskDisposalTable;
  task_document: TaskDocumentTable;
  office: OfficeTable;
  office_member: OfficeMemberTable;
  office_admin: OfficeAdminTable;
  office_guide_section: OfficeGuideSectionTable;
  interest_registration: InterestRegistrationTable;
  time_entry: TimeEntryTable;
  timesheet: TimesheetTable;
  settlement_adjustment: SettlementAdjustmentTable;
  settlement_close: SettlementCloseTable;
  delivery: DeliveryTable;
  job_lock: JobLockTable;
  sign_in_attempt: SignInAttemptTable;
  sign_in_lock: SignInLockTable;
  notification: NotificationTable;
  mail_outbox: MailOutboxTable;
  user_preference: UserPreferenceTable;
  webhook: WebhookTable;
  webhook_delivery: WebhookDeliveryTable;
  webhook_attempt: WebhookAttemptTable;
  workspace_session: WorkspaceSessionTable;
  repository: RepositoryTable;
  pull_request: PullRequestTable;
  pull_review: PullReviewTable;
  review_comment: ReviewCommentTable;
  tenant_github: TenantGithubTable;
  session_activity: SessionActivityTable;
  workspace: WorkspaceTable;
  workspace_host: WorkspaceHostTable;
  engineer_profile: EngineerProfileTable;
  engineer_skill: EngineerSkillTable;
  vetting_record: VettingRecordTable;
  /** Leads' vetting (`my_number`, to decide task batches with individual numbers); same columns. */
  lead_vetting: VettingRecordTable;
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
