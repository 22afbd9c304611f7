// Prometheus metrics for HTTP traffic, one registry per app so that tests can run several apps.
import type { Context, Env, MiddlewareHandler } from "hono";
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

export function createMetrics({ defaults = true }: { defaults?: boolean } = {}) {
  const registry = new Registry();
  if (defaults) collectDefaultMetrics({ register: registry, prefix: "azusa_" });
  // Requests are counted in plain numbers and handed to the counter when it is read: prom-client validates and
  // hashes the labels on every increment, which an authenticated read would pay on each request.
  const counted = new Map<string, { labels: Record<"method" | "route" | "status", string>; n: number }>();
  const requests = new Counter({
    name: "azusa_http_requests_total",
    help: "HTTP requests by method, route and status",
    labelNames: ["method", "route", "status"] as const,
    registers: [registry],
    collect() {
      for (const entry of counted.values()) {
        if (entry.n === 0) continue;
        this.inc(entry.labels, entry.n);
        entry.n = 0;
      }
    },
  });
  /** Counts one request; `key` names its labels (the same key, the same labels). */
  const countRequest = (key: string, method: string, route: string, status: number) => {
    let entry = counted.get(key);
    if (!entry) {
      entry = { labels: { method, route, status: String(status) }, n: 0 };
      counted.set(key, entry);
    }
    entry.n++;
  };
  const duration = new Histogram({
    name: "azusa_http_request_duration_seconds",
    help: "HTTP request duration by method and route",
    labelNames: ["method", "route"] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  return { registry, requests, duration, countRequest };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * Counts and times every request by its route pattern (not its path, to keep label counts small), and
 * hands each finished request with its duration in milliseconds to `done` (the request log).
 */
export function observe<E extends Env>(
  metrics: Metrics,
  done?: (c: Context<E>, ms: number) => void,
): MiddlewareHandler<E> {
  // Labelled children are looked up once per label set; `observe(labels, v)` would find them again every time.
  const series = new Map<string, Histogram.Internal<"method" | "route">>();
  return async (c, next) => {
    const start = performance.now();
    await next();
    const method = c.req.method;
    // `routePath` maps every matched handler to its path on each read: read it once.
    const routePath = c.req.routePath;
    const route = routePath === "/*" || !routePath ? "unmatched" : routePath;
    const status = c.res.status;
    const key = `${status} ${method} ${route}`;
    let timer = series.get(key);
    if (!timer) {
      timer = metrics.duration.labels({ method, route });
      series.set(key, timer);
    }
    const ms = performance.now() - start;
    metrics.countRequest(key, method, route, status);
    timer.observe(ms / 1000);
    done?.(c, ms);
  };
}
