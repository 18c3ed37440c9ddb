import { inject } from "vitest";

// Runs in every worker before any test module loads lib/env.ts.
process.env.DATABASE_URL = inject("databaseUrl");
(process.env as Record<string, string>).NODE_ENV = "test";
process.env.SESSION_SECRET ??= "test-session-secret-that-is-at-least-32-chars";
