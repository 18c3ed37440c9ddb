/**
 * `npm start`: the production server (after `npm run build`) with the same
 * checks and, unless real services are configured, the same embedded sidecars.
 */
import { loadConfiguration, log, prepareDatabase, runNext, superviseUntilExit } from "./lib/stack";
import { startSidecars } from "./lib/sidecars";

const { env, database } = await loadConfiguration(false);
await prepareDatabase(env);
const { sidecars, childEnv } = await startSidecars(env);
const port = process.env.PORT ?? (new URL(env.APP_URL).port || "3000");
log("dispatch", `starting Next.js (production) on port ${port}`);
const next = runNext(["start", "--port", port, "--hostname", process.env.HOSTNAME ?? "127.0.0.1"], {
  ...process.env,
  ...childEnv,
});
superviseUntilExit(next, sidecars, database);
