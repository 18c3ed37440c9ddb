/**
 * The embedded services Dispatch starts when no real one is configured, in
 * the runner's own process: the offline demo model (when no provider key is
 * set). Each returns what the app needs to reach it.
 */
import { demoModelOptionsFromEnv } from "@/lib/ai/demo-model/config";
import { startDemoModel } from "@/lib/ai/demo-model/server";
import { resolveModel } from "@/lib/ai/models";
import type { Env } from "@/lib/env-schema";
import { log, type Sidecar } from "./stack";

export async function startSidecars(env: Env): Promise<{ sidecars: Sidecar[]; childEnv: Record<string, string> }> {
  const sidecars: Sidecar[] = [];
  const childEnv: Record<string, string> = {};

  const model = resolveModel(env).selection;
  if (model.provider === "demo" && !process.env.DEMO_MODEL_URL) {
    const options = demoModelOptionsFromEnv(process.env);
    const server = await startDemoModel(options);
    childEnv.DEMO_MODEL_URL = server.url;
    sidecars.push({ name: "model", stop: () => server.stop() });
    log("model", `offline demo model at ${server.url} (no provider key set; see README > Models)`);
  } else {
    log("model", `${model.label} (${model.reason})`);
  }

  return { sidecars, childEnv };
}
