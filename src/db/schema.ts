// Table types for Kysely. Timestamps are ISO-8601 strings so that SQLite and PostgreSQL agree.

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

export interface Database {
  tenant: TenantTable;
  user: UserTable;
  session: SessionTable;
  invitation: InvitationTable;
  audit_event: AuditEventTable;
  audit_head: AuditHeadTable;
}
