import { readFileSync } from "node:fs";
import { parseEnv as parseDotenv } from "node:util";
import { describe, expect, it } from "vitest";
import { EnvError, envSchema, parseEnv } from "@/lib/env-schema";

describe("parseEnv", () => {
  it("needs only a database, which the runners provide, and defaults everything else", () => {
    const env = parseEnv({ NODE_ENV: "development", DATABASE_URL: "postgresql://db/dispatch" });
    expect(env.DATABASE_URL).toBe("postgresql://db/dispatch");
    expect(env.DEMO_MODEL_URL).toBe("http://127.0.0.1:8787/v1");
    expect(env.SMTP_URL).toBe("smtp://127.0.0.1:2525");
    expect(env.SESSION_SECRET.length).toBeGreaterThanOrEqual(32);
  });

  it("says how to get a database when DATABASE_URL is unset, except while building", () => {
    expect(() => parseEnv({ NODE_ENV: "development" })).toThrow(
      /DATABASE_URL is not set[\s\S]*embedded PostgreSQL/,
    );
    expect(() => parseEnv({ DATABASE_URL: "" })).toThrow(EnvError);
    const built = parseEnv({ NODE_ENV: "production", NEXT_PHASE: "phase-production-build" });
    expect(new URL(built.DATABASE_URL).hostname).toMatch(/\.invalid$/);
  });

  it("keeps the generated development secret stable across restarts", () => {
    const source = { DATABASE_URL: "postgresql://db/dispatch" };
    expect(parseEnv(source).SESSION_SECRET).toBe(parseEnv(source).SESSION_SECRET);
  });

  it("requires the session secret in production", () => {
    const database = { DATABASE_URL: "postgresql://db/dispatch" };
    expect(() => parseEnv({ ...database, NODE_ENV: "production" })).toThrow(
      /SESSION_SECRET is required/,
    );
    expect(
      parseEnv({ ...database, NODE_ENV: "production", SESSION_SECRET: "x".repeat(32) })
        .SESSION_SECRET,
    ).toBe("x".repeat(32));
  });

  it("rejects a short secret and names every invalid variable", () => {
    let error: unknown;
    try {
      parseEnv({
        SESSION_SECRET: "short",
        DATABASE_URL: "mysql://localhost/x",
        EXECUTOR_PORT: "99999",
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(EnvError);
    const message = (error as Error).message;
    expect(message).toContain("SESSION_SECRET: must be at least 32 characters");
    expect(message).toContain("DATABASE_URL: must be a postgres:// URL");
    expect(message).toContain("EXECUTOR_PORT");
  });

  it("treats empty strings as unset, as .env files write them", () => {
    const env = parseEnv({
      DATABASE_URL: "postgresql://db/dispatch",
      OPENAI_API_KEY: "",
      SMTP_URL: "",
      DEMO_MODEL_PORT: "9999",
    });
    expect(env.OPENAI_API_KEY).toBeUndefined();
    expect(env.SMTP_URL).toBe("smtp://127.0.0.1:2525");
    expect(env.DEMO_MODEL_URL).toBe("http://127.0.0.1:9999/v1");
  });

  it("accepts .env.example as it is committed, documenting every variable", () => {
    const text = readFileSync(".env.example", "utf8");
    // DATABASE_URL is commented out there: the runners provide the embedded server.
    const env = parseEnv({
      ...parseDotenv(text),
      NODE_ENV: "development",
      DATABASE_URL: "postgresql://db/dispatch",
    });
    expect(env.APP_URL).toBe("http://localhost:3000");
    const documented = new Set([...text.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));
    const schemaKeys = Object.keys(envSchema.in.shape).filter((key) => key !== "NODE_ENV");
    expect(schemaKeys.filter((key) => !documented.has(key))).toEqual([]);
  });
});
