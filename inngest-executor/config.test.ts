import { describe, expect, it } from "vitest";
import { DEFAULT_APP_URL, DEFAULT_DATABASE_URL, executorConfigFromEnv } from "./config";

describe("executorConfigFromEnv", () => {
  it("defaults to 127.0.0.1:8288, the dispatch database and the local app", () => {
    expect(executorConfigFromEnv({})).toEqual({
      host: "127.0.0.1",
      port: 8288,
      databaseUrl: DEFAULT_DATABASE_URL,
      appUrls: [DEFAULT_APP_URL],
      schema: "inngest_executor",
      retryBaseMs: 1000,
    });
  });

  it("prefers EXECUTOR_DATABASE_URL over DATABASE_URL and splits several app URLs", () => {
    const config = executorConfigFromEnv({
      DATABASE_URL: "postgresql://app/db",
      EXECUTOR_DATABASE_URL: "postgresql://executor/db",
      EXECUTOR_APP_URL: "http://a/api/inngest, http://b/api/inngest",
      EXECUTOR_PORT: "9000",
    });
    expect(config).toMatchObject({
      databaseUrl: "postgresql://executor/db",
      appUrls: ["http://a/api/inngest", "http://b/api/inngest"],
      port: 9000,
    });
    expect(executorConfigFromEnv({ DATABASE_URL: "postgresql://app/db" }).databaseUrl).toBe(
      "postgresql://app/db",
    );
  });

  it("rejects an invalid port or schema name", () => {
    expect(() => executorConfigFromEnv({ EXECUTOR_PORT: "http" })).toThrow();
    expect(() => executorConfigFromEnv({ EXECUTOR_SCHEMA: "Bad-Name" })).toThrow();
  });
});
