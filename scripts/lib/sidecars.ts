/**
 * The embedded services Dispatch starts when no real one is configured.
 * Each returns the environment the app needs to reach it.
 */
import type { Env } from "@/lib/env-schema";
import type { Sidecar } from "./stack";

export async function startSidecars(_env: Env): Promise<{ sidecars: Sidecar[]; childEnv: Record<string, string> }> {
  const sidecars: Sidecar[] = [];
  const childEnv: Record<string, string> = {};
  return { sidecars, childEnv };
}
