/**
 * Zod schemas for everything that crosses the executor's boundaries in the
 * Inngest SDK protocol: events, app sync payloads, the ops an SDK answers with
 * and checkpoint bodies. They are lenient (passthrough) where the SDK may add
 * fields, strict only where the executor depends on a value.
 */
import { createHash, randomBytes } from "node:crypto";
import { z } from "zod";

export const eventPayloadSchema = z
  .object({
    name: z.string().min(1),
    data: z.record(z.string(), z.unknown()).nullish(),
    id: z.string().min(1).optional(),
    ts: z.number().optional(),
    v: z.string().nullish(),
    user: z.unknown().optional(),
  })
  .passthrough();
export type EventPayload = z.infer<typeof eventPayloadSchema>;

/** An event as stored and as sent to functions. */
export interface StoredEvent {
  id: string;
  name: string;
  data: Record<string, unknown>;
  ts: number;
  [key: string]: unknown;
}

const retriesSchema = z.object({ attempts: z.number().int().min(0).optional() }).passthrough();

const concurrencyEntrySchema = z.object({
  limit: z.number().int().min(0),
  key: z.string().optional(),
  scope: z.enum(["fn", "env", "account"]).optional(),
});

export const functionConfigSchema = z
  .object({
    id: z.string().min(1),
    name: z.string().optional(),
    triggers: z
      .array(
        z
          .object({
            event: z.string().optional(),
            expression: z.string().optional(),
            cron: z.string().optional(),
          })
          .passthrough(),
      )
      .default([]),
    steps: z.record(
      z.string(),
      z
        .object({
          id: z.string().optional(),
          runtime: z.object({ url: z.string().url() }).passthrough(),
          retries: retriesSchema.optional(),
        })
        .passthrough(),
    ),
    idempotency: z.string().nullish(),
    concurrency: z
      .union([z.number().int(), concurrencyEntrySchema, z.array(concurrencyEntrySchema)])
      .nullish(),
    cancel: z
      .array(
        z.object({ event: z.string(), if: z.string().optional(), timeout: z.string().optional() }),
      )
      .nullish(),
    timeouts: z.object({ start: z.string().optional(), finish: z.string().optional() }).nullish(),
    // Flow control and scheduling. Each is checked field by field at sync (see engine/settings.ts),
    // so these stay lenient here and a setting the executor cannot honour is refused with its name.
    batchEvents: z
      .object({
        maxSize: z.number().int().min(1),
        timeout: z.string(),
        key: z.string().optional(),
        if: z.string().optional(),
      })
      .passthrough()
      .nullish(),
    debounce: z
      .object({ period: z.string(), key: z.string().optional(), timeout: z.string().optional() })
      .passthrough()
      .nullish(),
    throttle: z
      .object({
        limit: z.number().int().min(1),
        period: z.string(),
        burst: z.number().int().min(0).optional(),
        key: z.string().optional(),
      })
      .passthrough()
      .nullish(),
    rateLimit: z
      .object({ limit: z.number().int().min(1), period: z.string(), key: z.string().optional() })
      .passthrough()
      .nullish(),
    priority: z.object({ run: z.string().optional() }).passthrough().nullish(),
    singleton: z
      .object({ mode: z.enum(["skip", "cancel"]), key: z.string().optional() })
      .passthrough()
      .nullish(),
  })
  .passthrough();
export type FunctionConfig = z.infer<typeof functionConfigSchema>;

export const registerBodySchema = z
  .object({
    url: z.string().url(),
    appName: z.string().min(1),
    functions: z.array(functionConfigSchema).default([]),
    sdk: z.string().optional(),
  })
  .passthrough();
export type RegisterBody = z.infer<typeof registerBodySchema>;

export const inBandSyncResponseSchema = z
  .object({
    app_id: z.string().min(1),
    url: z.string().url(),
    functions: z.array(functionConfigSchema).default([]),
    sdk: z.string().optional(),
  })
  .passthrough();

export const opSchema = z
  .object({
    id: z.string().min(1),
    op: z.string().min(1),
    name: z.string().nullish(),
    displayName: z.string().nullish(),
    data: z.unknown().optional(),
    error: z.unknown().optional(),
    opts: z.record(z.string(), z.unknown()).nullish(),
  })
  .passthrough();
export type Op = z.infer<typeof opSchema>;

export const opsResponseSchema = z.union([z.array(opSchema), opSchema.transform((op) => [op])]);

export const checkpointBodySchema = z
  .object({
    run_id: z.string().optional(),
    fn_id: z.string().optional(),
    qi_id: z.string().min(1),
    steps: z.array(opSchema).default([]),
  })
  .passthrough();

export const invokeOptsSchema = z
  .object({
    function_id: z.string().min(1),
    payload: z
      .object({ data: z.record(z.string(), z.unknown()).nullish(), v: z.string().nullish() })
      .passthrough()
      .optional(),
    timeout: z.string().nullish(),
  })
  .passthrough();

export const waitOptsSchema = z
  .object({ timeout: z.string(), if: z.string().nullish() })
  .passthrough();

/** The error shape the SDK serialises and deserialises (`name`, `message`, `stack`). */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  [key: string]: unknown;
}

export function toSerializedError(value: unknown, fallbackMessage: string): SerializedError {
  if (value && typeof value === "object") {
    const record = value as Record<string, unknown>;
    const message = typeof record.message === "string" ? record.message : fallbackMessage;
    const name = typeof record.name === "string" ? record.name : "Error";
    return { ...record, name, message };
  }
  if (typeof value === "string" && value) return { name: "Error", message: value };
  return { name: "Error", message: fallbackMessage };
}

// Crockford base32, as used by ULIDs.
const ENCODING = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

function encodeTime(ms: number): string {
  let out = "";
  let rest = ms;
  for (let i = 0; i < 10; i++) {
    out = ENCODING[rest % 32] + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

function encodeRandom(bytes: Buffer): string {
  let out = "";
  for (let i = 0; i < 16; i++) out += ENCODING[(bytes[i] ?? 0) % 32];
  return out;
}

export function newUlid(now = Date.now()): string {
  return encodeTime(now) + encodeRandom(randomBytes(16));
}

/**
 * The SDK sends `x-inngest-event-id-seed: <ms>,<entropy>` so that a send it
 * retries gets the same event ids and is deduplicated; ids derive from it.
 */
export function seededEventId(seed: string, index: number): string | undefined {
  const [msText, entropy] = seed.split(",");
  const ms = Number(msText);
  if (!entropy || !Number.isFinite(ms) || ms <= 0) return undefined;
  return deterministicUlid(ms, `${entropy}:${index}`);
}

/** A ULID whose time part is `ms` and whose random part is a hash of `key`: the same inputs, the same id. */
export function deterministicUlid(ms: number, key: string): string {
  return encodeTime(ms) + encodeRandom(createHash("sha256").update(key).digest());
}
