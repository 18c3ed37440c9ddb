// Generates the Prisma Client (lib/generated/prisma) on install.
//
// NOTE: the Prisma CLI tries to download its schema-engine binary at the start
// of every command, and that download fails on machines without internet
// access. `prisma generate` never uses the engine, so pointing
// PRISMA_SCHEMA_ENGINE_BINARY at any executable lets it run offline. Where the
// variable is already set (a machine with the real engine) it is left alone.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: "1", CHECKPOINT_DISABLE: "1" };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;

const cli = require.resolve("prisma/build/index.js");
const result = spawnSync(process.execPath, [cli, "generate"], { stdio: "inherit", env });
process.exit(result.status ?? 1);
