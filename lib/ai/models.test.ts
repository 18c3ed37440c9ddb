import { describe, expect, it } from "vitest";
import { DEMO_MODEL_ID } from "@/lib/ai/demo-model/protocol";
import {
  DEFAULT_MODEL_IDS,
  ModelConfigError,
  publicModelInfo,
  resolveModel,
  selectModel,
  type ModelConfig,
} from "@/lib/ai/models";

const none: ModelConfig = {
  AI_PROVIDER: "auto",
  AI_MODEL: undefined,
  OPENAI_API_KEY: undefined,
  OPENAI_BASE_URL: undefined,
  ANTHROPIC_API_KEY: undefined,
  OPENAI_COMPATIBLE_BASE_URL: undefined,
  OPENAI_COMPATIBLE_API_KEY: undefined,
  DEMO_MODEL_URL: "http://127.0.0.1:8787/v1",
};

function config(overrides: Partial<ModelConfig>): ModelConfig {
  return { ...none, ...overrides };
}

function configError(run: () => unknown): ModelConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ModelConfigError) return error;
    throw error;
  }
  throw new Error("expected a ModelConfigError");
}

describe("selectModel with AI_PROVIDER=auto", () => {
  it("falls back to the offline demo model when nothing is configured", () => {
    const selection = selectModel(none);
    expect(selection).toMatchObject({ provider: "demo", modelId: DEMO_MODEL_ID, isDemo: true });
    expect(selection.label).toMatch(/demo/i);
    expect(selection.warnings).toEqual([]);
  });

  it("prefers OpenAI, then Anthropic, then an OpenAI-compatible server", () => {
    const all = config({
      OPENAI_API_KEY: "sk-test",
      ANTHROPIC_API_KEY: "sk-ant-test",
      OPENAI_COMPATIBLE_BASE_URL: "http://127.0.0.1:11434/v1",
      AI_MODEL: "some-model",
    });
    expect(selectModel(all).provider).toBe("openai");
    expect(selectModel({ ...all, OPENAI_API_KEY: undefined }).provider).toBe("anthropic");
    expect(
      selectModel({ ...all, OPENAI_API_KEY: undefined, ANTHROPIC_API_KEY: undefined }).provider,
    ).toBe("openai-compatible");
  });

  it("says why it chose a provider", () => {
    expect(selectModel(config({ ANTHROPIC_API_KEY: "k" })).reason).toContain("ANTHROPIC_API_KEY");
    expect(selectModel(none).reason).toMatch(/no provider/);
  });

  it("warns that AI_MODEL is ignored when it falls back to the demo model", () => {
    const selection = selectModel(config({ AI_MODEL: "gpt-5" }));
    expect(selection.provider).toBe("demo");
    expect(selection.warnings.join(" ")).toMatch(/AI_MODEL=gpt-5 is ignored/);
  });

  it("requires AI_MODEL for an OpenAI-compatible server found by auto", () => {
    const error = configError(() =>
      selectModel(config({ OPENAI_COMPATIBLE_BASE_URL: "http://127.0.0.1:11434/v1" })),
    );
    expect(error.code).toBe("missing_model");
    expect(error.message).toMatch(/AI_MODEL/);
  });
});

describe("selectModel with an explicit provider", () => {
  it("uses each provider's default model id, or AI_MODEL", () => {
    expect(selectModel(config({ AI_PROVIDER: "openai", OPENAI_API_KEY: "k" })).modelId).toBe(
      DEFAULT_MODEL_IDS.openai,
    );
    expect(selectModel(config({ AI_PROVIDER: "anthropic", ANTHROPIC_API_KEY: "k" })).modelId).toBe(
      DEFAULT_MODEL_IDS.anthropic,
    );
    const custom = selectModel(
      config({ AI_PROVIDER: "anthropic", ANTHROPIC_API_KEY: "k", AI_MODEL: "claude-x" }),
    );
    expect(custom).toMatchObject({
      provider: "anthropic",
      modelId: "claude-x",
      isDemo: false,
      label: "Anthropic · claude-x",
    });
  });

  it("honours AI_PROVIDER=demo even when keys are set", () => {
    expect(selectModel(config({ AI_PROVIDER: "demo", OPENAI_API_KEY: "k" })).provider).toBe("demo");
  });

  it("rejects a provider whose key is missing, naming the variable", () => {
    const openai = configError(() => selectModel(config({ AI_PROVIDER: "openai" })));
    expect(openai.code).toBe("missing_api_key");
    expect(openai.message).toContain("OPENAI_API_KEY");
    const anthropic = configError(() =>
      selectModel(config({ AI_PROVIDER: "anthropic", OPENAI_API_KEY: "k" })),
    );
    expect(anthropic.code).toBe("missing_api_key");
    expect(anthropic.message).toContain("ANTHROPIC_API_KEY");
  });

  it("rejects an OpenAI-compatible provider without a base URL or a model", () => {
    const noUrl = configError(() =>
      selectModel(config({ AI_PROVIDER: "openai-compatible", AI_MODEL: "llama3.2" })),
    );
    expect(noUrl.code).toBe("missing_base_url");
    expect(noUrl.message).toContain("OPENAI_COMPATIBLE_BASE_URL");
    const noModel = configError(() =>
      selectModel(
        config({
          AI_PROVIDER: "openai-compatible",
          OPENAI_COMPATIBLE_BASE_URL: "http://127.0.0.1:8000/v1",
        }),
      ),
    );
    expect(noModel.code).toBe("missing_model");
  });
});

describe("resolveModel", () => {
  it("builds the AI SDK model of the selected provider", () => {
    const cases: Array<[Partial<ModelConfig>, string, string]> = [
      [{ OPENAI_API_KEY: "k" }, "openai", DEFAULT_MODEL_IDS.openai],
      [{ ANTHROPIC_API_KEY: "k" }, "anthropic", DEFAULT_MODEL_IDS.anthropic],
      [
        { OPENAI_COMPATIBLE_BASE_URL: "http://127.0.0.1:11434/v1", AI_MODEL: "llama3.2" },
        "openai-compatible",
        "llama3.2",
      ],
      [{}, "demo", DEMO_MODEL_ID],
    ];
    for (const [overrides, provider, modelId] of cases) {
      const { model, selection } = resolveModel(config(overrides));
      expect(selection.provider).toBe(provider);
      expect(model.modelId).toBe(modelId);
      expect(model.provider.startsWith(provider)).toBe(true);
    }
  });

  it("exposes no secrets in the public model info", () => {
    const { selection } = resolveModel(config({ OPENAI_API_KEY: "sk-secret", AI_MODEL: "gpt-x" }));
    const shown = publicModelInfo(selection);
    expect(shown).toEqual({
      provider: "openai",
      modelId: "gpt-x",
      label: "OpenAI · gpt-x",
      isDemo: false,
    });
    expect(JSON.stringify(shown)).not.toContain("sk-secret");
  });
});
