// HTTP for sessions into workspaces: the list of a package's sessions and each one's recording.
import { createRoute, z } from "@hono/zod-openapi";
import type { SessionService } from "../../domain/sessions/sessions.service.ts";
import { errorResponses } from "../errors.ts";
import { actorOf, createRouter } from "../router.ts";
import { IdParam, json } from "../schemas.ts";

const Session = z
  .object({
    id: z.string(),
    packageId: z.string(),
    workspaceId: z.string(),
    engineerId: z.string(),
    transport: z.string().describe("ssh or browser"),
    kind: z.string().describe("shell or exec"),
    sourceAddress: z.string(),
    keyFingerprint: z.string().nullable(),
    startedAt: z.string(),
    endedAt: z.string().nullable(),
    endReason: z.string().nullable(),
    exitCode: z.number().nullable(),
    exitSignal: z.string().nullable(),
    recorded: z.boolean(),
  })
  .openapi("WorkspaceSession");

const list = createRoute({
  method: "get",
  path: "/packages/{id}/sessions",
  tags: ["sessions"],
  summary: "The package's SSH and terminal sessions, newest first (the contract's leads, operators)",
  request: { params: IdParam },
  responses: {
    200: { description: "Sessions", content: json(z.object({ items: z.array(Session) })) },
    ...errorResponses,
  },
});

const recording = createRoute({
  method: "get",
  path: "/sessions/{id}/recording",
  tags: ["sessions"],
  summary: "The session's recording as asciicast v2 (the contract's leads, operators); audited",
  request: { params: IdParam },
  responses: {
    200: { description: "asciicast v2", content: { "application/x-asciicast": { schema: z.string() } } },
    ...errorResponses,
  },
});

export const sessionRoutes = (deps: { sessions: SessionService }) =>
  createRouter()
    .openapi(list, async (c) =>
      c.json({ items: await deps.sessions.forPackage(actorOf(c), c.req.valid("param").id) }, 200),
    )
    .openapi(recording, async (c) => {
      const { session, cast } = await deps.sessions.recording(actorOf(c), c.req.valid("param").id);
      return c.body(new Uint8Array(cast), 200, {
        "content-type": "application/x-asciicast",
        "content-disposition": `attachment; filename="${session.id}.cast"`,
      });
    });
