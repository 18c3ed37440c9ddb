/**
 * Runs the offline demo model on its own: `npm run demo-model`. Listens on
 * 127.0.0.1:DEMO_MODEL_PORT (default 8787) until SIGINT or SIGTERM.
 */
import { demoModelOptionsFromEnv } from "@/lib/ai/demo-model/config";
import { startDemoModel } from "@/lib/ai/demo-model/server";

const options = demoModelOptionsFromEnv(process.env);
const server = await startDemoModel(options).catch((error: NodeJS.ErrnoException) => {
  console.error(
    error.code === "EADDRINUSE"
      ? `[demo-model] port ${options.port} is already in use: stop the other process or set DEMO_MODEL_PORT.`
      : `[demo-model] could not start: ${error.message}`,
  );
  process.exit(1);
});
console.log(
  `[demo-model] offline demo model at ${server.url} (ttft ${options.ttftMs} ms, ${options.tokensPerSecond} tokens/s, batches ${options.batch?.rowsPerSecond} rows/s${
    options.faults ? `, faults: ${options.faults}` : ""
  })`,
);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    void server.stop().then(() => process.exit(0));
  });
}
