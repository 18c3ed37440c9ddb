import { describe, expect, it } from "vitest";
import { resolveBatchClient } from "@/lib/ai/batch/resolve";
import { DEMO_MODEL_ID } from "@/lib/ai/demo-model/protocol";
import { economyMode, ModelConfigError, selectModel, type ModelConfig } from "@/lib/ai/models";
import { noProviderConfig } from "@/test/model-config";

const none: ModelConfig = noProviderConfig();

describe("resolveBatchClient", () => {
  it("follows the model configuration: demo, OpenAI, Anthropic, with the same model id", () => {
    expect(resolveBatchClient(none)).toMatchObject({ provider: "demo", modelId: DEMO_MODEL_ID });
    expect(resolveBatchClient({ ...none, OPENAI_API_KEY: "sk-x" })).toMatchObject({
      provider: "openai",
      modelId: "gpt-5-mini",
      limits: { maxItems: 50_000, maxBytes: 200 * 1024 * 1024 },
    });
    expect(
      resolveBatchClient({ ...none, ANTHROPIC_API_KEY: "sk-ant", AI_MODEL: "claude-sonnet-4-5" }),
    ).toMatchObject({
      provider: "anthropic",
      modelId: "claude-sonnet-4-5",
      limits: { maxItems: 100_000, maxBytes: 256 * 1024 * 1024 },
    });
  });

  it("refuses OpenAI-compatible servers with a clear economy-mode error", () => {
    const compatible = {
      ...none,
      OPENAI_COMPATIBLE_BASE_URL: "http://127.0.0.1:11434/v1",
      AI_MODEL: "llama3.2",
    };
    expect(economyMode(selectModel(compatible))).toMatchObject({ available: false });
    expect(economyMode(selectModel(none))).toEqual({ available: true });
    let error: unknown;
    try {
      resolveBatchClient(compatible);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ModelConfigError);
    expect(error).toMatchObject({ code: "economy_unavailable" });
    expect((error as Error).message).toMatch(
      /Economy mode is unavailable with this provider.*llama3\.2/,
    );
  });

  it("passes incomplete configuration errors through", () => {
    expect(() => resolveBatchClient({ ...none, AI_PROVIDER: "anthropic" })).toThrow(
      /needs ANTHROPIC_API_KEY/,
    );
  });
});
