import { describe, expect, it } from "vitest";
import { demoModelOptionsFromEnv } from "@/lib/ai/demo-model/config";
import {
  DEFAULT_BATCH_DELAY_MS,
  DEFAULT_BATCH_ROWS_PER_SECOND,
  DEFAULT_BATCH_WINDOW_MS,
} from "@/lib/ai/demo-model/batch";
import { DEFAULT_TOKENS_PER_SECOND, DEFAULT_TTFT_MS } from "@/lib/ai/demo-model/server";

describe("demo model configuration", () => {
  it("defaults to a visible pace on 127.0.0.1:8787", () => {
    expect(demoModelOptionsFromEnv({})).toEqual({
      host: "127.0.0.1",
      port: 8787,
      ttftMs: DEFAULT_TTFT_MS,
      tokensPerSecond: DEFAULT_TOKENS_PER_SECOND,
      faults: undefined,
      batch: {
        delayMs: DEFAULT_BATCH_DELAY_MS,
        rowsPerSecond: DEFAULT_BATCH_ROWS_PER_SECOND,
        windowMs: DEFAULT_BATCH_WINDOW_MS,
      },
    });
  });

  it("reads the Batch API's pace and completion window", () => {
    expect(
      demoModelOptionsFromEnv({
        DEMO_MODEL_BATCH_DELAY_MS: "0",
        DEMO_MODEL_BATCH_ROWS_PER_SECOND: "0",
        DEMO_MODEL_BATCH_WINDOW_MS: "60000",
      }).batch,
    ).toEqual({ delayMs: 0, rowsPerSecond: 0, windowMs: 60_000 });
    expect(() => demoModelOptionsFromEnv({ DEMO_MODEL_BATCH_WINDOW_MS: "0" })).toThrow(
      /DEMO_MODEL_BATCH_WINDOW_MS/,
    );
  });

  it("reads pace, port and faults", () => {
    expect(
      demoModelOptionsFromEnv({
        DEMO_MODEL_PORT: "9000",
        DEMO_MODEL_TTFT_MS: "0",
        DEMO_MODEL_TOKENS_PER_SECOND: "500",
        DEMO_MODEL_FAULTS: "fail-500 every=10; drop-after=30 every=7",
      }),
    ).toMatchObject({
      port: 9000,
      ttftMs: 0,
      tokensPerSecond: 500,
      faults: "fail-500 every=10; drop-after=30 every=7",
    });
  });

  it("rejects bad values with the variable's name", () => {
    expect(() => demoModelOptionsFromEnv({ DEMO_MODEL_TOKENS_PER_SECOND: "fast" })).toThrow(
      /DEMO_MODEL_TOKENS_PER_SECOND/,
    );
    expect(() => demoModelOptionsFromEnv({ DEMO_MODEL_FAULTS: "explode" })).toThrow(
      /DEMO_MODEL_FAULTS/,
    );
  });
});
