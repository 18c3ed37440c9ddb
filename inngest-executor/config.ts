/**
 * Executor settings from the environment, validated once. Used by the
 * standalone entry and as the defaults of `startExecutor`, so `npm run dev`,
 * the tests and `npm run executor` agree on them.
 */
import { z } from "zod";

export const DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/dispatch";
export const DEFAULT_APP_URL = "http://127.0.0.1:3000/api/inngest";

const envSchema = z.object({
  EXECUTOR_HOST: z.string().min(1).default("127.0.0.1"),
  EXECUTOR_PORT: z.coerce.number().int().min(0).max(65535).default(8288),
  EXECUTOR_DATABASE_URL: z.string().optional(),
  DATABASE_URL: z.string().optional(),
  EXECUTOR_APP_URL: z.string().default(DEFAULT_APP_URL),
  EXECUTOR_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/)
    .default("inngest_executor"),
  EXECUTOR_RETRY_BASE_MS: z.coerce.number().int().positive().default(1000),
});

export interface ExecutorEnvConfig {
  host: string;
  port: number;
  databaseUrl: string;
  appUrls: string[];
  schema: string;
  retryBaseMs: number;
}

export function executorConfigFromEnv(
  env: Record<string, string | undefined> = process.env,
): ExecutorEnvConfig {
  const parsed = envSchema.parse(env);
  return {
    host: parsed.EXECUTOR_HOST,
    port: parsed.EXECUTOR_PORT,
    databaseUrl: parsed.EXECUTOR_DATABASE_URL || parsed.DATABASE_URL || DEFAULT_DATABASE_URL,
    appUrls: parsed.EXECUTOR_APP_URL.split(",")
      .map((url) => url.trim())
      .filter(Boolean),
    schema: parsed.EXECUTOR_SCHEMA,
    retryBaseMs: parsed.EXECUTOR_RETRY_BASE_MS,
  };
}
