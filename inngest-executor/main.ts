/**
 * Standalone entry: `npm run executor`. Configuration comes from the
 * environment (see config.ts): EXECUTOR_HOST, EXECUTOR_PORT,
 * EXECUTOR_DATABASE_URL (else DATABASE_URL), EXECUTOR_APP_URL (comma-separated
 * serve URLs synced at start), EXECUTOR_SCHEMA, EXECUTOR_RETRY_BASE_MS.
 */
import { executorConfigFromEnv } from "./config";
import { startExecutor } from "./index";

const executor = await startExecutor(executorConfigFromEnv());

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
