/**
 * What model calls cost: a price table per model (per-million-token input
 * and output prices, the batch discount) and the cost of token usage in
 * live and batch mode. Money is integer micro-dollars (1 USD = 1,000,000),
 * computed with bigint and rounded once per total, so sums never drift.
 *
 * Defaults are the providers' public list prices for the default models of
 * lib/ai/models.ts, as of {@link PRICES_AS_OF}; `AI_PRICES` (JSON, see
 * lib/env-schema.ts and .env.example) overrides or adds models.
 */
import { z } from "zod";

/** The date the default prices were read from the providers' pricing pages. */
export const PRICES_AS_OF = "2026-11-29";
/** OpenAI Batch and Anthropic Message Batches both take half off input and output. */
export const DEFAULT_BATCH_DISCOUNT_PERCENT = 50;

export const USAGE_MODES = ["live", "batch"] as const;
export type UsageMode = (typeof USAGE_MODES)[number];

const MICROS_PER_DOLLAR = 1_000_000;

/**
 * US dollars, as a number or a decimal string with at most 6 decimals, to
 * integer micro-dollars. Strings are read digit by digit (exact); numbers
 * must sit on a whole micro-dollar.
 */
export const dollarsSchema = z.union([z.number(), z.string()]).transform((value, context) => {
  if (typeof value === "string") {
    const match = /^(\d+)(?:\.(\d{1,6}))?$/.exec(value.trim());
    if (!match) {
      context.addIssue({
        code: "custom",
        message: `"${value}" is not a price in dollars with at most 6 decimals, e.g. "0.25"`,
      });
      return z.NEVER;
    }
    return Number(match[1]) * MICROS_PER_DOLLAR + Number((match[2] ?? "").padEnd(6, "0"));
  }
  const micros = Math.round(value * MICROS_PER_DOLLAR);
  if (!Number.isFinite(value) || value < 0 || Math.abs(value * MICROS_PER_DOLLAR - micros) > 1e-6) {
    context.addIssue({
      code: "custom",
      message: `${value} is not a non-negative price in dollars with at most 6 decimals`,
    });
    return z.NEVER;
  }
  return micros;
});

/** One model's price as configured: US dollars per million tokens. */
export const modelPriceSchema = z
  .object({
    input: dollarsSchema,
    output: dollarsSchema,
    batchDiscountPercent: z.number().int().min(0).max(100).default(DEFAULT_BATCH_DISCOUNT_PERCENT),
  })
  .strict()
  .transform(({ input, output, batchDiscountPercent }) => ({
    inputMicrosPerMillion: input,
    outputMicrosPerMillion: output,
    batchDiscountPercent,
  }));
export type ModelPrice = z.output<typeof modelPriceSchema>;

/** `AI_PRICES`: model id → price, e.g. `{"gpt-5-mini":{"input":"0.25","output":"2"}}`. */
export const priceOverridesSchema = z.record(z.string().min(1), modelPriceSchema);
export type PriceOverrides = z.output<typeof priceOverridesSchema>;

/** `AI_PRICES` as the environment holds it: a JSON string. */
export const priceOverridesJsonSchema = z
  .string()
  .transform((text, context) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      context.addIssue({
        code: "custom",
        message: 'must be JSON, e.g. {"my-model":{"input":"0.5","output":"1.5"}}',
      });
      return z.NEVER;
    }
  })
  .pipe(priceOverridesSchema);

/**
 * The providers' list prices for the default models (USD per million
 * tokens, standard tier, no cache):
 * - OpenAI gpt-5-mini: $0.25 input, $2.00 output (platform.openai.com model page).
 * - Anthropic claude-haiku-4-5: $1.00 input, $5.00 output (Anthropic pricing page).
 * - The offline demo model costs nothing.
 */
export const DEFAULT_PRICES: Readonly<Record<string, ModelPrice>> = {
  "gpt-5-mini": {
    inputMicrosPerMillion: 250_000,
    outputMicrosPerMillion: 2_000_000,
    batchDiscountPercent: DEFAULT_BATCH_DISCOUNT_PERCENT,
  },
  "claude-haiku-4-5": {
    inputMicrosPerMillion: 1_000_000,
    outputMicrosPerMillion: 5_000_000,
    batchDiscountPercent: DEFAULT_BATCH_DISCOUNT_PERCENT,
  },
  "dispatch-demo": {
    inputMicrosPerMillion: 0,
    outputMicrosPerMillion: 0,
    batchDiscountPercent: DEFAULT_BATCH_DISCOUNT_PERCENT,
  },
};

export type PriceTable = ReadonlyMap<string, ModelPrice>;

/** The defaults with `overrides` on top (an override replaces a model's whole price). */
export function priceTable(overrides: PriceOverrides = {}): PriceTable {
  return new Map([...Object.entries(DEFAULT_PRICES), ...Object.entries(overrides)]);
}

/**
 * A model's price: its own entry, else the entry of the alias it is a
 * dated snapshot of (`gpt-5-mini-2025-08-07`, `claude-haiku-4-5-20251001`).
 */
export function priceFor(table: PriceTable, modelId: string): ModelPrice | undefined {
  return table.get(modelId) ?? table.get(modelId.replace(/-(\d{4}-\d{2}-\d{2}|\d{8})$/, ""));
}

export const usageRecordSchema = z.object({
  modelId: z.string().min(1),
  mode: z.enum(USAGE_MODES),
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
});
export type UsageRecord = z.infer<typeof usageRecordSchema>;

/** Cost × 10^8: micro-dollars per million tokens × tokens × percent payable. Exact. */
function scaledCost(
  usage: Pick<UsageRecord, "inputTokens" | "outputTokens">,
  price: ModelPrice,
  mode: UsageMode,
): bigint {
  const perMillion =
    BigInt(usage.inputTokens) * BigInt(price.inputMicrosPerMillion) +
    BigInt(usage.outputTokens) * BigInt(price.outputMicrosPerMillion);
  const payablePercent = mode === "batch" ? 100 - price.batchDiscountPercent : 100;
  return perMillion * BigInt(payablePercent);
}

const SCALE = 1_000_000n * 100n;

/** Rounds a scaled cost to whole micro-dollars, halves up. */
function toMicros(scaled: bigint): number {
  return Number((scaled + SCALE / 2n) / SCALE);
}

/** The cost of one usage record in micro-dollars, rounded half up. */
export function costMicros(
  usage: Pick<UsageRecord, "inputTokens" | "outputTokens">,
  price: ModelPrice,
  mode: UsageMode,
): number {
  return toMicros(scaledCost(usage, price, mode));
}

export interface CostSummary {
  /** What the records cost in the modes they ran in. */
  micros: number;
  /** What the same tokens would have cost live: the comparison economy mode shows. */
  liveMicros: number;
  /** Models with no price in the table; their tokens are not in the sums. */
  unpricedModels: string[];
}

/** The cost of many records (e.g. every call of a job), summed exactly and rounded once. */
export function summarizeCost(records: Iterable<UsageRecord>, table: PriceTable): CostSummary {
  let actual = 0n;
  let live = 0n;
  const unpriced = new Set<string>();
  for (const record of records) {
    const price = priceFor(table, record.modelId);
    if (!price) {
      unpriced.add(record.modelId);
      continue;
    }
    actual += scaledCost(record, price, record.mode);
    live += scaledCost(record, price, "live");
  }
  return { micros: toMicros(actual), liveMicros: toMicros(live), unpricedModels: [...unpriced] };
}

/** The model whose list price {@link referenceCost} shows beside a free model's zero. */
export const REFERENCE_MODEL_ID = "gpt-5-mini";

/**
 * What the records' tokens would cost at a paid model's list price, in the
 * modes they ran in and live: shown when every call went to a free model
 * (the offline demo model), so "$0.00, live $0.00" still says what economy
 * mode saves. Null when any call had a price of its own.
 */
export function referenceCost(
  records: readonly UsageRecord[],
  table: PriceTable,
): { modelId: string; micros: number; liveMicros: number } | null {
  const free = (price: ModelPrice | undefined) =>
    price !== undefined && price.inputMicrosPerMillion === 0 && price.outputMicrosPerMillion === 0;
  if (records.length === 0 || !records.every((record) => free(priceFor(table, record.modelId))))
    return null;
  const reference = DEFAULT_PRICES[REFERENCE_MODEL_ID]!;
  const priced = records.map((record) => ({ ...record, modelId: REFERENCE_MODEL_ID }));
  const cost = summarizeCost(priced, new Map([[REFERENCE_MODEL_ID, reference]]));
  return { modelId: REFERENCE_MODEL_ID, micros: cost.micros, liveMicros: cost.liveMicros };
}

/** Micro-dollars as dollars for people: at least 2 decimals, at most 6, e.g. "$0.50", "$0.000125". */
export function formatMicros(micros: number): string {
  const sign = micros < 0 ? "-" : "";
  const absolute = Math.abs(micros);
  const dollars = Math.floor(absolute / MICROS_PER_DOLLAR);
  const fraction = String(absolute % MICROS_PER_DOLLAR)
    .padStart(6, "0")
    .replace(/0+$/, "")
    .padEnd(2, "0");
  return `${sign}$${dollars.toLocaleString("en-US")}.${fraction}`;
}

/** Tokens a chat message adds beyond its text (role, separators), counted generously. */
const MESSAGE_OVERHEAD_TOKENS = 8;
const utf8 = new TextEncoder();

/**
 * The most input tokens a prompt can take: one per UTF-8 byte of its texts
 * plus each message's overhead. Byte-level BPE tokenizers never make a
 * token of less than one byte (English averages 3–4 bytes a token), so
 * this is a bound, not an estimate, and a generous one.
 */
export function maxInputTokens(texts: readonly string[]): number {
  return texts.reduce(
    (sum, text) => sum + utf8.encode(text).length + MESSAGE_OVERHEAD_TOKENS,
    MESSAGE_OVERHEAD_TOKENS,
  );
}

/**
 * The most one call can cost, in micro-dollars, rounded up: its input bound
 * and its output cap at the mode's price. A model with no price costs
 * nothing here, as in {@link summarizeCost}.
 */
export function worstCaseMicros(
  call: { inputTokens: number; maxOutputTokens: number },
  price: ModelPrice | undefined,
  mode: UsageMode,
): number {
  if (!price) return 0;
  const scaled = scaledCost(
    { inputTokens: call.inputTokens, outputTokens: call.maxOutputTokens },
    price,
    mode,
  );
  return Number((scaled + SCALE - 1n) / SCALE);
}
