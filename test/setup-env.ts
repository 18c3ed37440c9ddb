import { inject } from "vitest";

// Runs in every worker before any test module loads lib/env.ts.
process.env.DATABASE_URL = inject("databaseUrl");
(process.env as Record<string, string>).NODE_ENV = "test";
process.env.SESSION_SECRET ??= "test-session-secret-that-is-at-least-32-chars";
// Tests assert on behaviour, not log lines; set LOG_LEVEL=debug to see them.
process.env.LOG_LEVEL ??= "silent";
