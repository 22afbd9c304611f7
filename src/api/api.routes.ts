// Every JSON resource: /api/v1 (described by the generated OpenAPI document), /git and /webhooks/github.
// src/http/app.ts mounts them all with one call; a new resource is one folder here and one line below.
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/router.ts";
import { apiKeyRoutes } from "./api-keys/api-keys.routes.ts";
import { auditRoutes } from "./audit/audit.routes.ts";
import { availabilityRoutes } from "./availability/availability.routes.ts";
import { contractRoutes } from "./contracts/contracts.routes.ts";
import { deliveryRoutes } from "./deliveries/deliveries.routes.ts";
import { docsRoutes } from "./docs/docs.routes.ts";
import { engineerRoutes } from "./engineers/engineers.routes.ts";
import { gitRoutes } from "./git/git.routes.ts";
import { githubRoutes, githubWebhookRoutes } from "./github/github.routes.ts";
import { acceptInvitation, invitationRoutes } from "./invitations/invitations.routes.ts";
import { mailRoutes } from "./mail/mail.routes.ts";
import { notificationRoutes } from "./notifications/notifications.routes.ts";
import { offerRoutes } from "./offers/offers.routes.ts";
import { guideRoutes } from "./offices/guide.routes.ts";
import { interestRoutes } from "./offices/interest.routes.ts";
import { officeRoutes } from "./offices/offices.routes.ts";
import { programmeReportRoutes } from "./offices/report.routes.ts";
import { packageRoutes } from "./packages/packages.routes.ts";
import { pullRoutes } from "./pulls/pulls.routes.ts";
import { sessionRoutes } from "./sessions/sessions.routes.ts";
import { settlementRoutes } from "./settlements/settlements.routes.ts";
import { taskAdjudicatorRoutes } from "./tasks/task-adjudicators.routes.ts";
import { taskEntryRoutes } from "./tasks/task-entries.routes.ts";
import { taskRoutes } from "./tasks/tasks.routes.ts";
import { tenantRoutes } from "./tenants/tenants.routes.ts";
import { timesheetRoutes } from "./timesheets/timesheets.routes.ts";
import { userRoutes } from "./users/users.routes.ts";
import { workspaceHostRoutes } from "./workspace-hosts/workspace-hosts.routes.ts";
import { workspaceRoutes } from "./workspaces/workspaces.routes.ts";

/** Where the versioned API lives. */
export const API = "/api/v1";

/** What the API modules need, together: each takes only its own part. */
export type ApiDeps = Parameters<typeof tenantRoutes>[0] &
  Parameters<typeof contractRoutes>[0] &
  Parameters<typeof packageRoutes>[0] &
  Parameters<typeof engineerRoutes>[0] &
  Parameters<typeof offerRoutes>[0] &
  Parameters<typeof workspaceRoutes>[0] &
  Parameters<typeof sessionRoutes>[0] &
  Parameters<typeof userRoutes>[0] &
  Parameters<typeof invitationRoutes>[0] &
  Parameters<typeof apiKeyRoutes>[0] &
  Parameters<typeof auditRoutes>[0] &
  Parameters<typeof timesheetRoutes>[0] &
  Parameters<typeof settlementRoutes>[0] &
  Parameters<typeof deliveryRoutes>[0] &
  Parameters<typeof notificationRoutes>[0] &
  Parameters<typeof pullRoutes>[0] &
  Parameters<typeof gitRoutes>[0] &
  Parameters<typeof githubRoutes>[0] &
  Parameters<typeof officeRoutes>[0] &
  Parameters<typeof guideRoutes>[0] &
  Parameters<typeof interestRoutes>[0] &
  Parameters<typeof programmeReportRoutes>[0] &
  Parameters<typeof availabilityRoutes>[0] &
  Parameters<typeof taskRoutes>[0] &
  Parameters<typeof workspaceHostRoutes>[0] &
  Parameters<typeof taskEntryRoutes>[0] &
  Parameters<typeof taskAdjudicatorRoutes>[0] &
  Parameters<typeof mailRoutes>[0] & { baseUrl: string };

/** Paths under /api/v1 that need no caller: the OpenAPI document, its docs, and accepting an invitation. */
export function isPublicApiPath(path: string): boolean {
  return path === `${API}/openapi.json` || path === `${API}${acceptInvitation.path}` || path.startsWith(`${API}/docs`);
}

/** Mounts every API module on `app`, and the OpenAPI document that describes them. */
export function mountApi(app: OpenAPIHono<AppEnv>, deps: ApiDeps): void {
  app.route(API, tenantRoutes(deps));
  app.route(API, contractRoutes(deps));
  app.route(API, packageRoutes(deps));
  app.route(API, engineerRoutes(deps));
  app.route(API, offerRoutes(deps));
  app.route(API, workspaceRoutes(deps));
  app.route(API, sessionRoutes(deps));
  app.route(API, userRoutes(deps));
  app.route(API, invitationRoutes(deps));
  app.route(API, apiKeyRoutes(deps));
  app.route(API, auditRoutes(deps));
  app.route(API, timesheetRoutes(deps));
  app.route(API, settlementRoutes(deps));
  app.route(API, deliveryRoutes(deps));
  app.route(API, notificationRoutes(deps));
  app.route(API, mailRoutes(deps));
  app.route(API, pullRoutes(deps));
  app.route(API, officeRoutes(deps));
  app.route(API, guideRoutes(deps));
  app.route(API, interestRoutes(deps));
  app.route(API, programmeReportRoutes(deps));
  app.route(API, availabilityRoutes(deps));
  app.route(API, taskRoutes(deps));
  app.route(API, workspaceHostRoutes(deps));
  app.route(API, taskEntryRoutes(deps));
  app.route(API, taskAdjudicatorRoutes(deps));
  app.route("/git", gitRoutes(deps));
  app.route(API, githubRoutes(deps));
  app.route("/webhooks/github", githubWebhookRoutes(deps));
  app.route(`${API}/docs`, docsRoutes({ base: `${API}/docs`, specUrl: `${API}/openapi.json` }));

  app.openAPIRegistry.registerComponent("securitySchemes", "session", {
    type: "apiKey",
    in: "cookie",
    name: "better-auth.session_token",
    description: "Sign in with POST /api/auth/sign-in/email",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", {
    type: "apiKey",
    in: "header",
    name: "x-api-key",
    description: "A contractor's API key",
  });
  app.doc31(`${API}/openapi.json`, {
    openapi: "3.1.0",
    info: {
      title: "Azusa API",
      version: "1",
      description:
        "Contracts, work packages, engineers and workspaces. Errors share one body: `{ error: { code, message, requestId } }`.",
    },
    servers: [{ url: deps.baseUrl }],
    security: [{ session: [] }, { apiKey: [] }],
  });
}
