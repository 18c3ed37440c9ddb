import { readFileSync } from "node:fs";
import { parseEnv as parseDotenv } from "node:util";
import { describe, expect, it } from "vitest";
import { EnvError, envSchema, parseEnv } from "@/lib/env-schema";

describe("parseEnv", () => {
  it("runs with no configuration at all, using the embedded defaults", () => {
    const env = parseEnv({ NODE_ENV: "development" });
    expect(env.DATABASE_URL).toBe("postgresql://postgres@127.0.0.1:5432/dispatch");
    expect(env.DEMO_MODEL_URL).toBe("http://127.0.0.1:8787/v1");
    expect(env.SMTP_URL).toBe("smtp://127.0.0.1:2525");
    expect(env.SESSION_SECRET.length).toBeGreaterThanOrEqual(32);
  });

  it("keeps the generated development secret stable across restarts", () => {
    expect(parseEnv({}).SESSION_SECRET).toBe(parseEnv({}).SESSION_SECRET);
  });

  it("requires the session secret in production", () => {
    expect(() => parseEnv({ NODE_ENV: "production" })).toThrow(/SESSION_SECRET is required/);
    expect(
      parseEnv({ NODE_ENV: "production", SESSION_SECRET: "x".repeat(32) }).SESSION_SECRET,
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
    const env = parseEnv({ OPENAI_API_KEY: "", SMTP_URL: "", DEMO_MODEL_PORT: "9999" });
    expect(env.OPENAI_API_KEY).toBeUndefined();
    expect(env.SMTP_URL).toBe("smtp://127.0.0.1:2525");
    expect(env.DEMO_MODEL_URL).toBe("http://127.0.0.1:9999/v1");
  });

  it("accepts .env.example as it is committed, documenting every variable", () => {
    const text = readFileSync(".env.example", "utf8");
    const env = parseEnv({ ...parseDotenv(text), NODE_ENV: "development" });
    expect(env.APP_URL).toBe("http://localhost:3000");
    const documented = new Set([...text.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));
    const schemaKeys = Object.keys(envSchema.in.shape).filter((key) => key !== "NODE_ENV");
    expect(schemaKeys.filter((key) => !documented.has(key))).toEqual([]);
  });
});
