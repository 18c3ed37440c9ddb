/**
 * Runs the offline demo model on its own: `npm run demo-model`. Listens on
 * 127.0.0.1:DEMO_MODEL_PORT (default 8787) until SIGINT or SIGTERM.
 */
import { demoModelOptionsFromEnv } from "@/lib/ai/demo-model/config";
import { startDemoModel } from "@/lib/ai/demo-model/server";

const options = demoModelOptionsFromEnv(process.env);
const server = await startDemoModel(options);
console.log(
  `[demo-model] offline demo model at ${server.url} (ttft ${options.ttftMs} ms, ${options.tokensPerSecond} tokens/s${
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
