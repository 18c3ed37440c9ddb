/**
 * Standalone entry: `npm run executor`. Configuration from the environment:
 * EXECUTOR_HOST, EXECUTOR_PORT, EXECUTOR_DATABASE_URL (else DATABASE_URL),
 * EXECUTOR_APP_URL (comma-separated serve URLs to sync at start).
 */
import { z } from "zod";
import { startExecutor } from "./index";

const env = z
  .object({
    EXECUTOR_HOST: z.string().default("127.0.0.1"),
    EXECUTOR_PORT: z.coerce.number().int().min(0).max(65535).default(8288),
    EXECUTOR_DATABASE_URL: z.string().optional(),
    DATABASE_URL: z.string().optional(),
    EXECUTOR_APP_URL: z.string().default("http://127.0.0.1:3000/api/inngest"),
    EXECUTOR_SCHEMA: z.string().default("inngest_executor"),
    EXECUTOR_RETRY_BASE_MS: z.coerce.number().int().positive().default(1000),
  })
  .parse(process.env);

const executor = await startExecutor({
  host: env.EXECUTOR_HOST,
  port: env.EXECUTOR_PORT,
  databaseUrl: env.EXECUTOR_DATABASE_URL || env.DATABASE_URL || "postgresql://postgres@127.0.0.1:5432/dispatch",
  appUrls: env.EXECUTOR_APP_URL.split(",").map((url) => url.trim()).filter(Boolean),
  schema: env.EXECUTOR_SCHEMA,
  retryBaseMs: env.EXECUTOR_RETRY_BASE_MS,
});

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    executor.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
