// What every page handler knows about its request: who is asking, in which language, and the form token.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Context } from "hono";
import type { JSX } from "hono/jsx/jsx-runtime";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { CredentialStore } from "../auth/credentials.ts";
import type { AccountService } from "../domain/accounts/accounts.service.ts";
import type { PreferenceService } from "../domain/accounts/preferences.service.ts";
import type { AttemptLimit } from "../domain/accounts/sign-in-throttle.ts";
import type { AuditService } from "../domain/audit/audit.service.ts";
import type { AvailabilityService } from "../domain/availability/availability.service.ts";
import type { ContractService } from "../domain/contracts/contracts.service.ts";
import type { DeliveryService } from "../domain/delivery/delivery.service.ts";
import type { OrderOf, OrderTerms } from "../domain/delivery/order-document.ts";
import type { EngineerService } from "../domain/engineers/engineers.service.ts";
import type { Mailer } from "../domain/notifications/mail.ts";
import type { NotificationService } from "../domain/notifications/notifications.service.ts";
import type { OfferService } from "../domain/offers/offers.service.ts";
import type { GuideService } from "../domain/offices/guide.service.ts";
import type { InterestService } from "../domain/offices/interest.service.ts";
import type { OfficeService } from "../domain/offices/offices.service.ts";
import type { ProgrammeReportService } from "../domain/offices/programme-report.ts";
import type { PackageService, WorkPackage } from "../domain/packages/packages.service.ts";
import { byWbs } from "../domain/packages/wbs-order.ts";
import type { PullService } from "../domain/pulls/pulls.service.ts";
import type { AccessRequest, Said } from "../domain/sessions/access.ts";
import type { SessionService } from "../domain/sessions/sessions.service.ts";
import type { TaskDocumentService } from "../domain/tasks/documents.service.ts";
import type { TaskEntryService } from "../domain/tasks/entries.service.ts";
import type { TaskService } from "../domain/tasks/tasks.service.ts";
import type { TenantService } from "../domain/tenants/tenants.service.ts";
import type { SettlementService } from "../domain/timesheets/settlements.service.ts";
import type { TimesheetService } from "../domain/timesheets/timesheets.service.ts";
import type { WbsImportService } from "../domain/wbs/wbs-import.service.ts";
import type { WorkspaceHostService } from "../domain/workspace-hosts/workspace-hosts.service.ts";
import type { WorkspaceFiles } from "../domain/workspaces/workspace-files.ts";
import type { WorkspaceService } from "../domain/workspaces/workspaces.service.ts";
import type { AppEnv } from "../http/router.ts";
import type { Actor, Role } from "../kernel/actor.ts";
import { AppError, type FieldProblem, invalidField, localizeError, notFound } from "../kernel/errors.ts";
import { type IssueLike, issueText, say, type Text, text } from "../kernel/messages.ts";
import { nameProblemText } from "../kernel/text.ts";
import type { Logger } from "../logger.ts";
import type { Lang, Translate } from "./i18n/i18n.ts";

/** The person behind a page request; pages are for people signed in with a session, never API keys. */
export type WebUser = Extract<Actor, { kind: "user" }>;

export interface WebEnv {
  Bindings: AppEnv["Bindings"];
  Variables: AppEnv["Variables"] & {
    lang: Lang;
    t: Translate;
    /** The signed-in person, or null on the public pages. */
    user: WebUser | null;
    /** The token every form of this session carries; empty when nobody is signed in. */
    csrfToken: string;
    /** How many of the signed-in person's notifications are unread, for the header. */
    unread: number;
  };
}

export type WebContext = Context<WebEnv>;

/**
 * The form token of a session: an HMAC keyed by the session cookie, which a page on another site can
 * neither read nor compute. It adds to the Origin check every POST already passes (src/http/app.ts).
 */
export function csrfTokenFor(sessionCookie: string): string {
  return createHmac("sha256", sessionCookie).update("azusa web form").digest("base64url");
}

/** Whether a submitted token is the session's, compared in constant time. */
export function csrfTokenMatches(expected: string, given: unknown): boolean {
  if (typeof given !== "string" || !expected) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The signed-in person if their role may see this page; anyone else is told it does not exist. */
export function requireRole(c: WebContext, ...roles: Role[]): WebUser {
  const user = c.get("user");
  if (!user || !roles.includes(user.role)) throw notFound("page");
  return user;
}

/** Where the SSH gateway is reached and the key it proves itself with. */
export interface SshAccess {
  /** The host name engineers connect to: the host of AZUSA_BASE_URL. */
  host: string;
  port: number;
  /** "ssh-ed25519 AAAA…", for known_hosts. */
  hostPublicKey: string;
  /** As `ssh` prints it: "SHA256:…". */
  fingerprint: string;
}

/** What the pages need: the application's services, and a way to hand a request to better-auth's routes. */
export interface WebDeps {
  credentials: CredentialStore;
  accounts: AccountService;
  /** Each person's own settings (/settings). */
  preferences: PreferenceService;
  tenants: TenantService;
  offices: OfficeService;
  guides: GuideService;
  interests: InterestService;
  /** Each office's month by tenant, for its operators. */
  programme: ProgrammeReportService;
  /** The public interest form's limit per client address. */
  interestAttempts: AttemptLimit;
  workspaceHosts: WorkspaceHostService;
  availability: AvailabilityService;
  /** Task batches (the contract's batch page). */
  tasks: TaskService;
  taskEntries: TaskEntryService;
  taskDocuments: TaskDocumentService;
  contracts: ContractService;
  packages: PackageService;
  wbs: WbsImportService;
  engineers: EngineerService;
  offers: OfferService;
  workspaces: WorkspaceService;
  sessions: SessionService;
  audit: AuditService;
  pulls: PullService;
  timesheets: TimesheetService;
  settlements: SettlementService;
  deliveries: DeliveryService;
  /** The order documents (発注書) of assignments, and the drafts of offers. */
  orders: { terms(actor: Actor, of: OrderOf): Promise<OrderTerms>; render(t: OrderTerms): string };
  notifications: NotificationService;
  /** The e-mail outbox; undefined when no SMTP server is set (AZUSA_SMTP_URL, AZUSA_MAIL_FROM). */
  mailer?: Mailer | undefined;
  logger: Logger;
  baseUrl: string;
  /** The sign-in page's brand line; undefined: the dictionary's, which names no town. */
  brandLine?: string;
  wbsLimit: number;
  trustProxy: boolean;
  /** Terminals on the exec bridge the browser shares with SSH (src/gateway/browser-terminal.ts). */
  terminals: BrowserTerminals;
  /** The web IDE's files, through the driver's exec. */
  workspaceFiles: WorkspaceFiles;
  /** The proxy to a template's own IDE, behind the pages' sign-in (src/gateway/ide-proxy.ts). */
  ideProxy: {
    /** Starts the template's IDE in the workspace when it is not running; `none` when the template names none. */
    ensure(
      request: AccessRequest,
    ): Promise<{ kind: "ready" } | { kind: "none" } | { kind: "failed"; status: 404 | 502; reason: string }>;
  };
  /** The listener of the IDEs' own origins (src/gateway/ide-origin.ts); null when off (AZUSA_IDE_PORT=off). */
  ideOrigin: {
    /** The address that lets the signed-in engineer into the package's IDE origin. */
    enter(signIn: string, engineerId: string, packageId: string): string;
  } | null;
  /** How engineers reach the SSH gateway, for the connection instructions (the port is set once it listens). */
  sshAccess: SshAccess;
  /**
   * Runs a request through the application itself: sign-in and sign-out go through /api/auth so that
   * the sign-in throttle and its audit events are the same for the page as for the API.
   */
  dispatch(request: Request, env: WebEnv["Bindings"]): Response | Promise<Response>;
}

/** What the terminal page needs of a WebSocket. */
export interface TerminalSocket {
  send(data: Buffer | string, done?: (err?: Error) => void): void;
  close(code?: number, reason?: string): void;
  pause(): void;
  resume(): void;
}

/** A terminal on an open socket: the page's frames go in, the workspace's output goes out on the socket. */
export interface BrowserTerminal {
  message(data: string | ArrayBuffer | Buffer): void;
  closed(): void;
}

/** The browser terminals: a shell with a tty in the engineer's workspace, for a page's socket. */
export interface BrowserTerminals {
  open(
    who: AccessRequest & { recheck?: () => Promise<Said | null>; lang?: Lang },
    socket: TerminalSocket,
    pty: { cols: number; rows: number },
  ): BrowserTerminal;
}

/** Sends a whole page as HTML5. */
export function render(c: WebContext, page: JSX.Element, status: ContentfulStatusCode = 200) {
  return c.html(`<!DOCTYPE html>${page.toString()}`, status);
}

/** A value, or null where the service says the thing is not there or not visible (an optional part of a page). */
export async function orNull<T>(work: Promise<T>): Promise<T | null> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof AppError && err.code === "NOT_FOUND") return null;
    throw err;
  }
}

/** A catalogue message in the page's language; moments in it are shown in Asia/Tokyo, as every page shows them. */
export const sayText = (c: WebContext, message: Text): string => say({ lang: c.get("lang") }, message);

/** An error's message in the page's language (as raised where it has no catalogue text). */
export const sayError = (c: WebContext, err: AppError): string => localizeError(err, { lang: c.get("lang") }).message;

/**
 * The field problems of a refused form, in the page's language: the error's own list of fields, or the
 * whole message under `fallbackPath` when it names none.
 */
export function problemsOf(c: WebContext, err: AppError, fallbackPath = "body"): FieldProblem[] {
  const local = localizeError(err, { lang: c.get("lang") });
  return local.fields ?? [{ path: fallbackPath, message: local.message }];
}

/** A form's validation issues (zod) as field problems in the page's language. */
export function issueProblems(
  c: WebContext,
  issues: readonly (IssueLike & { path: readonly PropertyKey[] })[],
): FieldProblem[] {
  return issues.map((i) => {
    const path = i.path.map(String).join(".") || "body";
    // A value not among a form's choices was chosen from a list: the person is asked to choose, not shown codes.
    const said = i.code === "invalid_value" ? text("issue.choose") : issueText(i);
    return { path, message: said ? sayText(c, said) : i.message };
  });
}

/** One field of a parsed form (parsed with `all: true`, so a field may be a list) as trimmed text. */
export function formText(form: Record<string, unknown>, name: string, max = 2000): string {
  const v = form[name];
  const value = String(Array.isArray(v) ? v[0] : (v ?? "")).trim();
  // The same bounds as the API's schemas: a page is no back door for a megabyte of text.
  if (value.length > max) throw invalidField(name, text("issue.longString", { n: max }));
  return value;
}

/** A name or a title from a form: `formText`, and refused as the API refuses it (`nameProblemText`). */
export function formName(form: Record<string, unknown>, name: string, max = 200): string {
  const text = formText(form, name, max);
  const problem = nameProblemText(text);
  if (problem) throw invalidField(name, problem);
  return text;
}

/**
 * The packages an engineer holds: those of the offers they accepted that they may still see (an assignment
 * that has ended makes its package invisible again: it is not "mine" any more).
 */
export async function heldPackages(deps: Pick<WebDeps, "offers" | "packages">, user: WebUser): Promise<WorkPackage[]> {
  const accepted = (await deps.offers.list(user)).filter((o) => o.state === "accepted");
  const pkgs = await Promise.all(accepted.map((o) => orNull(deps.packages.get(user, o.packageId))));
  return pkgs.filter((p) => p !== null).sort(byWbs);
}
