/**
 * `npm run dev`: everything Dispatch needs, with embedded defaults, in one
 * command: database checks and migrations, the sidecars, and `next dev`.
 */
import { loadConfiguration, log, prepareDatabase, runNext, superviseUntilExit } from "./lib/stack";
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { startSidecars } from "./lib/sidecars";

const { env, database } = await loadConfiguration(true);
await prepareDatabase(env);
const { sidecars, childEnv } = await startSidecars(env);
// Research needs something to search: on first start, import the demo corpus
// (the docs of Next.js and the AI SDK from node_modules, and PostgreSQL's
// manual where installed) in a background process: extraction is CPU work and
// the app is usable meanwhile. Sources already imported are left alone.
const tsx = createRequire(import.meta.url).resolve("tsx/cli");
const corpus = spawn(
  process.execPath,
  [tsx, "scripts/corpus-import.ts", "--demo", "--only-missing"],
  {
    env: { ...process.env, DATABASE_URL: env.DATABASE_URL, LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  },
);
corpus.stdout.on("data", (chunk: Buffer) => log("db", chunk.toString()));
corpus.stderr.on("data", (chunk: Buffer) => log("db", chunk.toString()));
sidecars.push({
  name: "db",
  stop: async () => {
    if (corpus.exitCode === null) corpus.kill("SIGTERM");
  },
});
const port = new URL(env.APP_URL).port || "3000";
log(
  "dispatch",
  `starting Next.js on ${env.APP_URL} (also http://127.0.0.1:${port}; loopback only)`,
);
// NOTE: bound to 127.0.0.1, not "localhost": where localhost resolves to ::1
// first (macOS), a server bound to "localhost" would refuse 127.0.0.1, while
// browsers and Node fall back from ::1 to 127.0.0.1 for localhost.
const next = runNext(["dev", "--port", port, "--hostname", "127.0.0.1"], {
  ...process.env,
  ...childEnv,
});
superviseUntilExit(next, sidecars, database);
