/** Model configurations for tests that resolve models or batch clients with their own settings. */
import type { ModelConfig } from "@/lib/ai/models";

/** Nothing configured: AI_PROVIDER=auto falls back to the offline demo model at `demoModelUrl`. */
export function noProviderConfig(
  demoModelUrl = "http://127.0.0.1:8787/v1",
  overrides: Partial<ModelConfig> = {},
): ModelConfig {
  return {
    AI_PROVIDER: "auto",
    AI_MODEL: undefined,
    OPENAI_API_KEY: undefined,
    OPENAI_BASE_URL: undefined,
    ANTHROPIC_API_KEY: undefined,
    OPENAI_COMPATIBLE_BASE_URL: undefined,
    OPENAI_COMPATIBLE_API_KEY: undefined,
    DEMO_MODEL_URL: demoModelUrl,
    ...overrides,
  };
}
