/**
 * The one description of Dispatch's configuration: every environment variable,
 * its default and its validation. `lib/env.ts` parses it once for the app;
 * scripts (dev runner, migrations, tests) call `parseEnv` directly.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { priceOverridesJsonSchema } from "@/lib/ai/pricing";

const port = z.coerce.number().int().min(1).max(65535);
const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === "" ? undefined : value));
const optionalUrl = optionalString.pipe(z.url().optional());

export const envSchema = z
  .object({
    NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
    APP_URL: z.url().default("http://localhost:3000"),
    // Unset: `npm run dev`, `npm start`, `npm test` and the scripts start an
    // embedded PostgreSQL (scripts/lib/database.ts) and set it for the app.
    DATABASE_URL: optionalString.pipe(
      z
        .url()
        .refine((value) => /^postgres(ql)?:\/\//.test(value), "must be a postgres:// URL")
        .optional(),
    ),
    SESSION_SECRET: optionalString.pipe(
      z.string().min(32, "must be at least 32 characters").optional(),
    ),
    LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),

    AI_PROVIDER: z
      .enum(["auto", "demo", "openai", "anthropic", "openai-compatible"])
      .default("auto"),
    AI_MODEL: optionalString,
    OPENAI_API_KEY: optionalString,
    OPENAI_BASE_URL: optionalUrl,
    ANTHROPIC_API_KEY: optionalString,
    OPENAI_COMPATIBLE_BASE_URL: optionalUrl,
    OPENAI_COMPATIBLE_API_KEY: optionalString,
    DEMO_MODEL_PORT: port.default(8787),
    DEMO_MODEL_URL: optionalUrl,
    /** Model prices on top of lib/ai/pricing.ts' defaults: JSON, USD per million tokens. */
    AI_PRICES: optionalString.pipe(priceOverridesJsonSchema.optional()),
    /**
     * Economy mode polls the provider's batch with backoff: the first wait,
     * doubling up to the longest. A provider batch takes minutes to hours.
     * NOTE: Inngest's durable sleeps resolve to whole seconds, hence the 1 s floor.
     */
    BATCH_POLL_MIN_MS: z.coerce.number().int().min(1000).default(15_000),
    BATCH_POLL_MAX_MS: z.coerce
      .number()
      .int()
      .min(10)
      .default(10 * 60_000),

    CHAT_MAX_MESSAGE_CHARS: z.coerce.number().int().min(100).max(200_000).default(16_000),
    CHAT_CONTEXT_TOKENS: z.coerce.number().int().min(500).default(8_000),
    CHAT_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(20),
    CHAT_STREAM_COALESCE_MS: z.coerce.number().int().min(0).max(1000).default(40),

    INNGEST_DEV: optionalString,
    INNGEST_BASE_URL: optionalUrl,
    INNGEST_EVENT_KEY: optionalString,
    INNGEST_SIGNING_KEY: optionalString,
    EXECUTOR_PORT: port.default(8288),

    /** A SearXNG instance (e.g. http://127.0.0.1:8080) that research also searches; offline search only when unset. */
    SEARXNG_URL: optionalUrl,

    SMTP_URL: optionalString,
    SMTP_SINK_PORT: port.default(2525),
    MAIL_FROM: z.string().default("Dispatch <dispatch@localhost>"),
    /** Serves /dev/mailbox from a production build: the e2e server only (it shows every mailed link). */
    DEV_MAILBOX: z.enum(["on", "off"]).default("off"),
    /** Serves /api/bench/v1, the benchmark's bare streaming route to the demo model: `npm run bench` only. */
    BENCH_PASSTHROUGH: z.enum(["on", "off"]).default("off"),
    /**
     * "off" writes a chat answer's final state but not its event log: the
     * benchmark's "log off" baseline only (nothing can follow or resume it).
     */
    BENCH_CHAT_EVENT_LOG: z.enum(["on", "off"]).default("on"),
  })
  .transform((env) => ({
    ...env,
    DEMO_MODEL_URL: env.DEMO_MODEL_URL ?? `http://127.0.0.1:${env.DEMO_MODEL_PORT}/v1`,
    SMTP_URL: env.SMTP_URL ?? `smtp://127.0.0.1:${env.SMTP_SINK_PORT}`,
  }));

export type Env = z.infer<typeof envSchema> & { SESSION_SECRET: string; DATABASE_URL: string };

export class EnvError extends Error {
  override name = "EnvError";
}

/** Where development keeps generated, machine-local state (git-ignored). */
export const DATA_DIR = path.join(process.cwd(), ".data");

/**
 * In development and tests a random secret is generated once and kept in
 * `.data/session-secret`, so cookies survive restarts. Production must set it.
 */
function developmentSecret(): string {
  const file = path.join(DATA_DIR, "session-secret");
  if (existsSync(file)) {
    const secret = readFileSync(file, "utf8").trim();
    if (secret.length >= 32) return secret;
  }
  const secret = randomBytes(32).toString("base64url");
  mkdirSync(DATA_DIR, { recursive: true });
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

// NOTE: `next build` imports server modules to collect page data but opens no
// connection, so the build needs no database; this host can never resolve.
const BUILD_PHASE_DATABASE_URL = "postgresql://database-url-unset.invalid/dispatch";

function withDatabaseUrl<T extends { DATABASE_URL?: string }>(
  env: T,
  source: Record<string, string | undefined>,
): T & { DATABASE_URL: string } {
  if (env.DATABASE_URL) return { ...env, DATABASE_URL: env.DATABASE_URL };
  if (source.NEXT_PHASE === "phase-production-build") {
    return { ...env, DATABASE_URL: BUILD_PHASE_DATABASE_URL };
  }
  throw new EnvError(
    [
      "DATABASE_URL is not set.",
      "`npm run dev`, `npm start` and `npm test` start an embedded PostgreSQL when it is unset;",
      "to run a command of your own against it: `npx tsx scripts/with-postgres.ts <command>`.",
      "Or point DATABASE_URL (in .env, see .env.example) at a PostgreSQL 15+ server.",
    ].join("\n"),
  );
}

export function parseEnv(source: Record<string, string | undefined>): Env {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const details = parsed.error.issues
      .map((issue) => `  ${issue.path.join(".") || "(root)"}: ${issue.message}`)
      .join("\n");
    throw new EnvError(`Invalid environment configuration:\n${details}`);
  }
  const env = withDatabaseUrl(parsed.data, source);
  if (!env.SESSION_SECRET) {
    // `next build` imports server modules to collect page data; nothing is
    // signed then, so the build needs no secret (the running server does).
    if (source.NEXT_PHASE === "phase-production-build") {
      return { ...env, SESSION_SECRET: randomBytes(32).toString("base64url") };
    }
    if (env.NODE_ENV === "production") {
      throw new EnvError(
        "SESSION_SECRET is required in production (at least 32 random characters, e.g. `openssl rand -base64 32`).",
      );
    }
    return { ...env, SESSION_SECRET: developmentSecret() };
  }
  return { ...env, SESSION_SECRET: env.SESSION_SECRET };
}
