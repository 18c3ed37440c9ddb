/**
 * Validated configuration for the server. Every module reads settings from
 * here; nothing else touches `process.env` (the lint rule enforces it).
 */
import "server-only";
import { parseEnv } from "@/lib/env-schema";

export const env = parseEnv(process.env);
export type { Env } from "@/lib/env-schema";
