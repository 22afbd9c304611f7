// HTTP for sessions into workspaces: the list of a package's sessions and each one's recording.
import { createRoute, z } from "@hono/zod-openapi";
import type { SessionService } from "../../domain/sessions/sessions.service.ts";
import { errorContent, errorResponse, errorResponses } from "../../http/errors.ts";
import { actorOf, createRouter } from "../../http/router.ts";
import { AppError } from "../../kernel/errors.ts";
import { IdParam, json } from "../schemas.ts";
import { streamOf } from "../stream.ts";

const Session = z
  .object({
    id: z.string(),
    packageId: z.string(),
    workspaceId: z.string(),
    engineerId: z.string(),
    transport: z.string().describe("ssh or browser"),
    kind: z.string().describe("shell or exec"),
    command: z.string().nullable().describe("the exact command line of an exec session; null for a shell"),
    subsystem: z.string().nullable().describe("the SSH subsystem (sftp) when the session is one"),
    sourceAddress: z.string(),
    keyFingerprint: z.string().nullable(),
    startedAt: z.string(),
    endedAt: z.string().nullable(),
    endReason: z.string().nullable(),
    exitCode: z.number().nullable(),
    exitSignal: z.string().nullable(),
    recorded: z.boolean(),
    recordingTruncatedAt: z
      .string()
      .nullable()
      .describe("when the recording reached its cap; the session went on unrecorded from then"),
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
  description:
    "Streamed from disk. A single byte range (`Range: bytes=a-b`) is answered with 206 once the recording's size " +
    "is known; other ranges are ignored and the whole recording is sent.",
  request: { params: IdParam, headers: z.object({ range: z.string().optional() }) },
  responses: {
    200: { description: "asciicast v2", content: { "application/x-asciicast": { schema: z.string() } } },
    206: { description: "The range asked for", content: { "application/x-asciicast": { schema: z.string() } } },
    416: { description: "The range lies past the recording's end", content: errorContent },
    ...errorResponses,
  },
});

export const sessionRoutes = (deps: { sessions: SessionService }) =>
  createRouter()
    .openapi(list, async (c) =>
      c.json({ items: await deps.sessions.forPackage(actorOf(c), c.req.valid("param").id) }, 200),
    )
    .openapi(recording, async (c) => {
      const read = await deps.sessions
        .recording(actorOf(c), c.req.valid("param").id, { range: c.req.header("range") })
        .catch((err: unknown) => {
          if (!(err instanceof AppError && err.code === "RANGE_NOT_SATISFIABLE")) throw err;
          return err;
        });
      if (read instanceof AppError) {
        c.header("content-range", `bytes */${read.details?.size}`);
        return errorResponse(c, read) as never;
      }
      const { session, stream, range, size } = read;
      const headers: Record<string, string> = {
        "content-type": "application/x-asciicast",
        "content-disposition": `attachment; filename="${session.id}.cast"`,
        "accept-ranges": "bytes",
      };
      if (range) {
        headers["content-range"] = `bytes ${range.start}-${range.end}/${size}`;
        headers["content-length"] = String(range.end - range.start + 1);
      } else if (size !== null) {
        headers["content-length"] = String(size);
      }
      return c.body(streamOf(stream), range ? 206 : 200, headers) as never;
    });
