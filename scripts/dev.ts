/**
 * `npm run dev`: everything Dispatch needs, with embedded defaults, in one
 * command: database checks and migrations, the sidecars, and `next dev`.
 */
import { loadConfiguration, log, prepareDatabase, runNext, superviseUntilExit } from "./lib/stack";
import { startSidecars } from "./lib/sidecars";

const env = loadConfiguration(true);
await prepareDatabase(env);
const { sidecars, childEnv } = await startSidecars(env);
const port = new URL(env.APP_URL).port || "3000";
log("dispatch", `starting Next.js on ${env.APP_URL}`);
const next = runNext(["dev", "--port", port, "--hostname", "localhost"], { ...process.env, ...childEnv });
superviseUntilExit(next, sidecars);
