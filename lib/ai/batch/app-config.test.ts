import { afterEach, describe, expect, it, vi } from "vitest";

/** Loads providers.ts afresh against the given variables (lib/env.ts reads process.env once, on import). */
async function loadWith(variables: Record<string, string>) {
  vi.resetModules();
  for (const name of [
    "AI_PROVIDER",
    "AI_MODEL",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "OPENAI_COMPATIBLE_BASE_URL",
    "AI_PRICES",
  ]) {
    vi.stubEnv(name, undefined);
  }
  for (const [name, value] of Object.entries(variables)) vi.stubEnv(name, value);
  return import("@/lib/ai/providers");
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("the app's batch client and prices", () => {
  it("batches on the demo model when nothing is configured, at no cost", async () => {
    const { batchClient, modelPrices } = await loadWith({});
    expect(batchClient()).toMatchObject({ provider: "demo", modelId: "dispatch-demo" });
    expect(modelPrices().get("dispatch-demo")).toMatchObject({ inputMicrosPerMillion: 0 });
  });

  it("refuses economy mode on an OpenAI-compatible server", async () => {
    const { batchClient } = await loadWith({
      OPENAI_COMPATIBLE_BASE_URL: "http://127.0.0.1:11434/v1",
      AI_MODEL: "llama3.2",
    });
    expect(() => batchClient()).toThrow(/Economy mode is unavailable with this provider/);
  });

  it("applies AI_PRICES on top of the defaults", async () => {
    const { modelPrices } = await loadWith({
      AI_PRICES: '{"llama3.2":{"input":"0.1","output":"0.2"}}',
    });
    expect(modelPrices().get("llama3.2")).toEqual({
      inputMicrosPerMillion: 100_000,
      outputMicrosPerMillion: 200_000,
      batchDiscountPercent: 50,
    });
    expect(modelPrices().get("gpt-5-mini")).toBeDefined();
  });
});
