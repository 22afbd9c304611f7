// The connection to the Docker engine that runs workspaces; readiness asks it for a ping.
import Docker from "dockerode";
import type { Config } from "../config.ts";

/** The part of the engine that the service's health checks need. */
export interface EngineProbe {
  /** Resolves when the engine answers within `timeoutMs`. */
  ping(timeoutMs?: number): Promise<void>;
}

export function createDockerClient(docker: Config["docker"]): Docker {
  return "socketPath" in docker ? new Docker({ socketPath: docker.socketPath }) : new Docker(docker);
}

export function dockerProbe(client: Pick<Docker, "ping">): EngineProbe {
  return {
    async ping(timeoutMs = 2000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await Promise.race([client.ping(), timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/**
 * Where a workspace host's engine listens: a unix socket on this machine, or `tcp://host:port` with mutual
 * TLS (the CA that signed the engine's certificate, and the client certificate and key the engine trusts).
 */
export type EngineEndpoint =
  | { kind: "socket"; path: string }
  | { kind: "tls"; host: string; port: number; ca: string; cert: string; key: string };

/** A dockerode client for an endpoint; over TCP it always verifies the engine and presents the client's certificate. */
export function createEngineClient(endpoint: EngineEndpoint): Docker {
  if (endpoint.kind === "socket") return new Docker({ socketPath: endpoint.path });
  const { host, port, ca, cert, key } = endpoint;
  return new Docker({ host, port, protocol: "https", ca, cert, key });
}
