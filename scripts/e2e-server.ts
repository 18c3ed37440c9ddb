/**
 * The server Playwright starts: the production build (`npm run build` first)
 * on its own port and ports for its sidecars, against a fresh database, so it
 * never collides with a development server on the same machine.
 */
import { dropDatabase } from "@/lib/db/migrate";

const databaseUrl = process.env.E2E_DATABASE_URL;
if (!databaseUrl) throw new Error("E2E_DATABASE_URL is not set (npm run test:e2e sets it)");
process.env.DATABASE_URL = databaseUrl;
await dropDatabase(databaseUrl);
await import("./start");
