/**
 * The server Playwright starts: the production build (`npm run build` first)
 * on its own port and ports for its sidecars, against a fresh database, so it
 * never collides with a development server on the same machine.
 */
import { dropDatabase } from "@/lib/db/migrate";

process.env.DATABASE_URL ??=
  process.env.E2E_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/dispatch_e2e";
await dropDatabase(process.env.DATABASE_URL);
await import("./start");
