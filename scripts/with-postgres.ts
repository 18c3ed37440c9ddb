/**
 * `tsx scripts/with-postgres.ts [--test] <command …>`: runs a command with a
 * database, starting the embedded PostgreSQL when none is configured and
 * stopping it when the command ends. `--test` provides the test suite's
 * database server (`TEST_DATABASE_BASE_URL`, `E2E_DATABASE_URL`,
 * `BENCH_DATABASE_BASE_URL`); without it, the app's (`DATABASE_URL`).
 */
import { spawn } from "node:child_process";
import nextEnv from "@next/env";
import { provideDatabase } from "./lib/database";

const args = process.argv.slice(2);
const test = args[0] === "--test";
const command = test ? args.slice(1) : args;
if (command.length === 0) {
  console.error("usage: tsx scripts/with-postgres.ts [--test] <command …>");
  process.exit(2);
}
if (!test) nextEnv.loadEnvConfig(process.cwd(), true, { info: () => {}, error: console.error });

const database = await provideDatabase(test ? "test" : "app", (line) =>
  console.log(`[db] ${line}`),
);
const child = spawn(command[0]!, command.slice(1), { stdio: "inherit", env: process.env });
let signalled = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    signalled = true;
    child.kill(signal);
  });
}
child.on("exit", async (code, signal) => {
  await database.stop();
  process.exit(code ?? (signal || signalled ? 130 : 1));
});
