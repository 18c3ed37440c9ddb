import { afterEach, describe, expect, it, vi } from "vitest";

const PROVIDER_VARIABLES = [
  "AI_PROVIDER",
  "AI_MODEL",
  "OPENAI_API_KEY",
  "OPENAI_BASE_URL",
  "ANTHROPIC_API_KEY",
  "OPENAI_COMPATIBLE_BASE_URL",
  "OPENAI_COMPATIBLE_API_KEY",
];

/** Loads providers.ts afresh against the given variables (lib/env.ts reads process.env once, on import). */
async function loadWith(variables: Record<string, string>) {
  vi.resetModules();
  for (const name of PROVIDER_VARIABLES) vi.stubEnv(name, undefined);
  for (const [name, value] of Object.entries(variables)) vi.stubEnv(name, value);
  return { ...(await import("@/lib/ai/providers")), ...(await import("@/lib/ai/models")) };
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("the app's model resolver", () => {
  it("gives every caller the offline demo model when nothing is configured", async () => {
    const { languageModel, modelInfo } = await loadWith({
      DEMO_MODEL_URL: "http://127.0.0.1:9999/v1",
    });
    expect(modelInfo()).toMatchObject({ provider: "demo", isDemo: true });
    expect(languageModel()).toBe(languageModel());
    expect(languageModel().provider).toBe("demo.chat");
  });

  it("follows the environment to a real provider", async () => {
    const { languageModel, modelInfo } = await loadWith({
      ANTHROPIC_API_KEY: "sk-ant-test",
      AI_MODEL: "claude-test",
    });
    expect(modelInfo()).toEqual({
      provider: "anthropic",
      modelId: "claude-test",
      label: "Anthropic · claude-test",
      isDemo: false,
    });
    expect(languageModel().modelId).toBe("claude-test");
  });

  it("fails with a clear message when the configuration is incomplete", async () => {
    const { languageModel, ModelConfigError } = await loadWith({ AI_PROVIDER: "openai" });
    expect(() => languageModel()).toThrow(ModelConfigError);
    expect(() => languageModel()).toThrow(/OPENAI_API_KEY/);
  });
});
