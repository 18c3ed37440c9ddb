import { describe, expect, it } from "vitest";
import { DEMO_MODEL_ID } from "@/lib/ai/demo-model/protocol";
import { DEFAULT_MODEL_IDS } from "@/lib/ai/models";
import {
  maxInputTokens,
  REFERENCE_MODEL_ID,
  referenceCost,
  worstCaseMicros,
  costMicros,
  DEFAULT_PRICES,
  formatMicros,
  modelPriceSchema,
  priceFor,
  priceOverridesJsonSchema,
  priceTable,
  summarizeCost,
  type UsageRecord,
} from "@/lib/ai/pricing";
import { EnvError, parseEnv } from "@/lib/env-schema";

const table = priceTable();
const baseEnv = {
  NODE_ENV: "test",
  SESSION_SECRET: "x".repeat(32),
  DATABASE_URL: "postgresql://db/dispatch",
};

describe("the default price table", () => {
  it("prices every default model, and the demo model at zero", () => {
    for (const modelId of Object.values(DEFAULT_MODEL_IDS)) {
      expect(priceFor(table, modelId), modelId).toBeDefined();
    }
    expect(priceFor(table, DEMO_MODEL_ID)).toMatchObject({
      inputMicrosPerMillion: 0,
      outputMicrosPerMillion: 0,
    });
    expect(DEFAULT_PRICES["gpt-5-mini"]).toEqual({
      inputMicrosPerMillion: 250_000,
      outputMicrosPerMillion: 2_000_000,
      batchDiscountPercent: 50,
    });
    expect(DEFAULT_PRICES["claude-haiku-4-5"]).toMatchObject({
      inputMicrosPerMillion: 1_000_000,
      outputMicrosPerMillion: 5_000_000,
    });
  });

  it("prices dated snapshots as their alias, and nothing else", () => {
    expect(priceFor(table, "gpt-5-mini-2025-08-07")).toBe(priceFor(table, "gpt-5-mini"));
    expect(priceFor(table, "claude-haiku-4-5-20251001")).toBe(priceFor(table, "claude-haiku-4-5"));
    expect(priceFor(table, "gpt-5-mini-high")).toBeUndefined();
  });
});

describe("cost arithmetic", () => {
  const mini = DEFAULT_PRICES["gpt-5-mini"]!;

  it("costs live and batch usage in whole micro-dollars", () => {
    // 1,000 in × $0.25/M + 500 out × $2/M = $0.00025 + $0.001 = 1,250 µ$.
    const usage = { inputTokens: 1_000, outputTokens: 500 };
    expect(costMicros(usage, mini, "live")).toBe(1_250);
    expect(costMicros(usage, mini, "batch")).toBe(625);
    expect(costMicros({ inputTokens: 0, outputTokens: 0 }, mini, "live")).toBe(0);
  });

  it("rounds half up once, where floats would drift", () => {
    // 1 input token at $0.25/M is 0.25 µ$, 2 are 0.5 µ$ → 1 µ$, 6 are 1.5 µ$ → 2 µ$.
    expect(costMicros({ inputTokens: 1, outputTokens: 0 }, mini, "live")).toBe(0);
    expect(costMicros({ inputTokens: 2, outputTokens: 0 }, mini, "live")).toBe(1);
    expect(costMicros({ inputTokens: 6, outputTokens: 0 }, mini, "live")).toBe(2);
    // A price in tenths of a cent, where 0.1 + 0.2 would not be 0.3 in floats.
    const tenth = modelPriceSchema.parse({ input: "0.1", output: "0.2" });
    expect(costMicros({ inputTokens: 3_000_000, outputTokens: 3_000_000 }, tenth, "live")).toBe(
      900_000,
    );
  });

  it("is exact for totals past 2^53 in intermediate values", () => {
    const expensive = modelPriceSchema.parse({ input: "150", output: "600" });
    const usage = { inputTokens: 9_000_000_000, outputTokens: 7_000_000_000 };
    // 9e9 × 150 + 7e9 × 600 = 5.55e12 $·M/M → $5,550,000 = 5.55e12 µ$.
    expect(costMicros(usage, expensive, "live")).toBe(5_550_000_000_000);
  });

  it("sums many records exactly, with the live equivalent beside, and names unpriced models", () => {
    const records: UsageRecord[] = [
      ...Array.from({ length: 3 }, () => ({
        modelId: "gpt-5-mini",
        mode: "batch" as const,
        inputTokens: 1,
        outputTokens: 0,
      })),
      { modelId: "gpt-5-mini", mode: "live", inputTokens: 1_000, outputTokens: 500 },
      { modelId: DEMO_MODEL_ID, mode: "batch", inputTokens: 10_000, outputTokens: 10_000 },
      { modelId: "llama3.2", mode: "live", inputTokens: 10, outputTokens: 10 },
    ];
    // Three batch tokens: 3 × 0.125 µ$ = 0.375 µ$; rounding each would give 0.
    expect(summarizeCost(records, table)).toEqual({
      micros: 1_250,
      liveMicros: 1_251,
      unpricedModels: ["llama3.2"],
    });
  });

  it("honours a model's own batch discount", () => {
    const custom = priceTable({
      "my-model": modelPriceSchema.parse({ input: 1, output: 1, batchDiscountPercent: 25 }),
    });
    const summary = summarizeCost(
      [{ modelId: "my-model", mode: "batch", inputTokens: 500_000, outputTokens: 500_000 }],
      custom,
    );
    expect(summary).toEqual({ micros: 750_000, liveMicros: 1_000_000, unpricedModels: [] });
  });

  it("formats micro-dollars for people", () => {
    expect(formatMicros(0)).toBe("$0.00");
    expect(formatMicros(500_000)).toBe("$0.50");
    expect(formatMicros(125)).toBe("$0.000125");
    expect(formatMicros(1_234_567_890)).toBe("$1,234.56789");
  });
});

describe("AI_PRICES", () => {
  it("overrides and adds models from JSON, prices as decimal strings or numbers", () => {
    const env = parseEnv({
      ...baseEnv,
      AI_PRICES: '{"gpt-5-mini":{"input":"0.3","output":2.5},"llama3.2":{"input":0,"output":0}}',
    });
    const overridden = priceTable(env.AI_PRICES);
    expect(priceFor(overridden, "gpt-5-mini")).toEqual({
      inputMicrosPerMillion: 300_000,
      outputMicrosPerMillion: 2_500_000,
      batchDiscountPercent: 50,
    });
    expect(priceFor(overridden, "llama3.2")).toBeDefined();
    expect(priceFor(overridden, "claude-haiku-4-5")).toEqual(DEFAULT_PRICES["claude-haiku-4-5"]);
    expect(parseEnv(baseEnv).AI_PRICES).toBeUndefined();
  });

  it("refuses invalid JSON and invalid prices, naming the variable", () => {
    const bad = [
      "{not json",
      '{"m":{"input":"0.1234567","output":"1"}}',
      '{"m":{"input":-1,"output":"1"}}',
      '{"m":{"input":"1"}}',
      '{"m":{"input":"1","output":"1","batchDiscountPercent":150}}',
      '{"m":{"input":"1","output":"1","cached":"1"}}',
    ];
    for (const value of bad) {
      expect(() => parseEnv({ ...baseEnv, AI_PRICES: value }), value).toThrow(EnvError);
      expect(priceOverridesJsonSchema.safeParse(value).success, value).toBe(false);
    }
    expect(() => parseEnv({ ...baseEnv, AI_PRICES: "{not json" })).toThrow(
      /AI_PRICES: must be JSON/,
    );
  });
});

describe("worst-case cost", () => {
  it("bounds input tokens by UTF-8 bytes plus a per-message overhead", () => {
    const perMessage = maxInputTokens([""]) - maxInputTokens([]);
    expect(perMessage).toBeGreaterThan(0);
    expect(maxInputTokens(["abcd"]) - maxInputTokens([])).toBe(4 + perMessage);
    expect(maxInputTokens(["abcd", "ef"]) - maxInputTokens(["abcd"])).toBe(2 + perMessage);
    // "é" is two bytes and "日" three: counted by bytes, not characters.
    expect(maxInputTokens(["é日"]) - maxInputTokens([""])).toBe(5);
  });

  it("prices the input bound and the output cap, rounding up, and is zero when unpriced", () => {
    const price = {
      inputMicrosPerMillion: 1_000_000,
      outputMicrosPerMillion: 3_000_000,
      batchDiscountPercent: 50,
    };
    // 1 input token = 1 micro; 1 output token = 3 micros; batch pays half.
    expect(worstCaseMicros({ inputTokens: 10, maxOutputTokens: 5 }, price, "live")).toBe(25);
    expect(worstCaseMicros({ inputTokens: 10, maxOutputTokens: 5 }, price, "batch")).toBe(13);
    expect(worstCaseMicros({ inputTokens: 10, maxOutputTokens: 5 }, undefined, "live")).toBe(0);
    // Never below what the same tokens are billed at.
    expect(
      worstCaseMicros({ inputTokens: 7, maxOutputTokens: 0 }, price, "batch"),
    ).toBeGreaterThanOrEqual(costMicros({ inputTokens: 7, outputTokens: 0 }, price, "batch"));
  });
});

describe("referenceCost", () => {
  const table = priceTable();
  const demo = (
    mode: "live" | "batch",
    inputTokens: number,
    outputTokens: number,
  ): UsageRecord => ({
    modelId: DEMO_MODEL_ID,
    mode,
    inputTokens,
    outputTokens,
  });

  it("prices a free model's tokens at the reference model's list price, in their modes and live", () => {
    const records = [demo("batch", 1_000_000, 0), demo("live", 0, 1_000_000)];
    // gpt-5-mini: $0.25 in, $2 out per million; batch pays half.
    expect(referenceCost(records, table)).toEqual({
      modelId: REFERENCE_MODEL_ID,
      micros: 125_000 + 2_000_000,
      liveMicros: 250_000 + 2_000_000,
    });
  });

  it("is null when any call had a price of its own, or when there were no calls", () => {
    expect(
      referenceCost(
        [demo("live", 10, 10), { ...demo("live", 10, 10), modelId: "gpt-5-mini" }],
        table,
      ),
    ).toBeNull();
    expect(
      referenceCost([{ ...demo("live", 10, 10), modelId: "unknown-model" }], table),
    ).toBeNull();
    expect(referenceCost([], table)).toBeNull();
  });
});
