// A workspace host's label (office, tenant, zone) as operators give it and as contracts ask for it.
import { z } from "@hono/zod-openapi";

export const HostLabel = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_.:-]+$/, "letters, digits, '_', '.', ':' and '-' only");
