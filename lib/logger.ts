/**
 * Structured logs: one JSON object per line in production (for any log
 * pipeline), one readable line in development. Always pass the correlation
 * id when there is one, so a user's error message can be traced.
 */
import "server-only";
import { env } from "@/lib/env";

type Level = "debug" | "info" | "warn" | "error";
const order: Record<Level | "silent", number> = {
  debug: 10,
  info: 20,
  warn: 30,
  error: 40,
  silent: 100,
};

function serialise(value: unknown): unknown {
  if (value instanceof Error) {
    return {
      name: value.name,
      message: value.message,
      stack: value.stack,
      cause: serialise(value.cause),
    };
  }
  return value;
}

function write(level: Level, event: string, fields: Record<string, unknown> = {}) {
  if (order[level] < order[env.LOG_LEVEL]) return;
  const data = Object.fromEntries(
    Object.entries(fields).map(([key, value]) => [key, serialise(value)]),
  );
  const stream = level === "error" || level === "warn" ? process.stderr : process.stdout;
  if (env.NODE_ENV === "production") {
    stream.write(`${JSON.stringify({ time: new Date().toISOString(), level, event, ...data })}\n`);
  } else {
    const rest = Object.entries(data)
      .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
      .join(" ");
    stream.write(`${level.padEnd(5)} ${event}${rest ? ` ${rest}` : ""}\n`);
  }
}

export const logger = {
  debug: (event: string, fields?: Record<string, unknown>) => write("debug", event, fields),
  info: (event: string, fields?: Record<string, unknown>) => write("info", event, fields),
  warn: (event: string, fields?: Record<string, unknown>) => write("warn", event, fields),
  error: (event: string, fields?: Record<string, unknown>) => write("error", event, fields),
};
