/**
 * `npm run dev`: everything Dispatch needs, with embedded defaults, in one
 * command: database checks and migrations, the sidecars, and `next dev`.
 */
import { loadConfiguration, log, prepareDatabase, runNext, superviseUntilExit } from "./lib/stack";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { POSTGRES_MANUAL_DIR, POSTGRES_MANUAL_URL, sharedCorpusSize } from "./lib/demo-corpus";
import { startSidecars } from "./lib/sidecars";

const env = loadConfiguration(true);
await prepareDatabase(env);
const { sidecars, childEnv } = await startSidecars(env);
// Research needs something to search: on first start, import the demo corpus
// in a background process (extraction is CPU work; the app is usable meanwhile).
if ((await sharedCorpusSize(env.DATABASE_URL)) === 0) {
  if (existsSync(POSTGRES_MANUAL_DIR)) {
    const tsx = createRequire(import.meta.url).resolve("tsx/cli");
    const child = spawn(
      process.execPath,
      [tsx, "scripts/corpus-import.ts", POSTGRES_MANUAL_DIR, "--base-url", POSTGRES_MANUAL_URL],
      {
        env: { ...process.env, DATABASE_URL: env.DATABASE_URL },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    child.stdout.on("data", (chunk: Buffer) => log("db", chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => log("db", chunk.toString()));
  } else {
    log(
      "db",
      `no demo corpus at ${POSTGRES_MANUAL_DIR} (apt-get install postgresql-doc-15); research searches your uploads`,
    );
  }
}
const port = new URL(env.APP_URL).port || "3000";
log("dispatch", `starting Next.js on ${env.APP_URL}`);
const next = runNext(["dev", "--port", port, "--hostname", "localhost"], {
  ...process.env,
  ...childEnv,
});
superviseUntilExit(next, sidecars);
