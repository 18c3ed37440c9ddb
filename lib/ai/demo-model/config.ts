/**
 * The demo model's own settings when it runs as a process (`npm run
 * demo-model`, or the sidecar `npm run dev` starts). It is a standalone
 * server, so it parses its variables here rather than through lib/env.ts.
 */
import { z } from "zod";
import {
  DEFAULT_BATCH_DELAY_MS,
  DEFAULT_BATCH_ROWS_PER_SECOND,
  DEFAULT_BATCH_WINDOW_MS,
} from "@/lib/ai/demo-model/batch";
import { parseDirectiveList } from "@/lib/ai/demo-model/directives";
import {
  DEFAULT_TOKENS_PER_SECOND,
  DEFAULT_TTFT_MS,
  type DemoModelOptions,
} from "@/lib/ai/demo-model/server";

const blankAsUndefined = (value: unknown) => (value === "" ? undefined : value);

export const demoModelEnvSchema = z.object({
  DEMO_MODEL_PORT: z.preprocess(
    blankAsUndefined,
    z.coerce.number().int().min(0).max(65535).default(8787),
  ),
  DEMO_MODEL_TTFT_MS: z.preprocess(
    blankAsUndefined,
    z.coerce.number().min(0).default(DEFAULT_TTFT_MS),
  ),
  DEMO_MODEL_TOKENS_PER_SECOND: z.preprocess(
    blankAsUndefined,
    z.coerce.number().min(0).default(DEFAULT_TOKENS_PER_SECOND),
  ),
  DEMO_MODEL_BATCH_DELAY_MS: z.preprocess(
    blankAsUndefined,
    z.coerce.number().int().min(0).default(DEFAULT_BATCH_DELAY_MS),
  ),
  DEMO_MODEL_BATCH_ROWS_PER_SECOND: z.preprocess(
    blankAsUndefined,
    z.coerce.number().min(0).default(DEFAULT_BATCH_ROWS_PER_SECOND),
  ),
  DEMO_MODEL_BATCH_WINDOW_MS: z.preprocess(
    blankAsUndefined,
    z.coerce.number().int().min(1).default(DEFAULT_BATCH_WINDOW_MS),
  ),
  DEMO_MODEL_FAULTS: z
    .string()
    .optional()
    .refine(
      (value) => {
        try {
          parseDirectiveList(value);
          return true;
        } catch {
          return false;
        }
      },
      { message: "must be demo directives separated by ';', e.g. \"fail-500 every=10\"" },
    ),
});

export function demoModelOptionsFromEnv(
  source: Record<string, string | undefined>,
): DemoModelOptions {
  const parsed = demoModelEnvSchema.safeParse(source);
  if (!parsed.success) {
    const details = parsed.error.issues
      .map((issue) => `  ${issue.path.join(".")}: ${issue.message}`)
      .join("\n");
    throw new Error(`Invalid demo model configuration:\n${details}`);
  }
  const env = parsed.data;
  return {
    host: "127.0.0.1",
    port: env.DEMO_MODEL_PORT,
    ttftMs: env.DEMO_MODEL_TTFT_MS,
    tokensPerSecond: env.DEMO_MODEL_TOKENS_PER_SECOND,
    faults: env.DEMO_MODEL_FAULTS,
    batch: {
      delayMs: env.DEMO_MODEL_BATCH_DELAY_MS,
      rowsPerSecond: env.DEMO_MODEL_BATCH_ROWS_PER_SECOND,
      windowMs: env.DEMO_MODEL_BATCH_WINDOW_MS,
    },
  };
}
