/**
 * The Inngest serve endpoint: the orchestrator (Inngest Cloud, self-hosted
 * Inngest, the Dev Server or the embedded executor) syncs the functions here
 * and calls back into them, one request per step or group of steps.
 */
import { serve } from "inngest/next";
import { inngest } from "@/inngest/client";
import { functions } from "@/inngest/functions";

// NOTE: a step may read a large document or wait on the model; the default limits are too short.
export const maxDuration = 300;
export const dynamic = "force-dynamic";

export const { GET, POST, PUT } = serve({ client: inngest, functions });
