/**
 * The embedded services Dispatch starts when no real one is configured, in
 * the runner's own process: the Inngest executor (unless Inngest Cloud,
 * self-hosted Inngest or another dev server is configured) and the offline
 * demo model (when no provider key is set). Each returns what the app needs
 * to reach it.
 */
import { demoModelOptionsFromEnv } from "@/lib/ai/demo-model/config";
import { startDemoModel } from "@/lib/ai/demo-model/server";
import { resolveModel } from "@/lib/ai/models";
import type { Env } from "@/lib/env-schema";
import { startExecutor } from "@/inngest-executor";
import { startSmtpSink } from "@/lib/email/sink";
import { log, type Sidecar } from "./stack";

export async function startSidecars(
  env: Env,
): Promise<{ sidecars: Sidecar[]; childEnv: Record<string, string> }> {
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

  const inngestConfigured =
    process.env.INNGEST_DEV || process.env.INNGEST_EVENT_KEY || process.env.INNGEST_BASE_URL;
  if (!inngestConfigured) {
    const appUrl = new URL("/api/inngest", env.APP_URL).toString();
    const executor = await startExecutor({
      databaseUrl: env.DATABASE_URL,
      port: env.EXECUTOR_PORT,
      appUrls: [appUrl],
      log: (line) => log("executor", line),
    });
    childEnv.INNGEST_DEV = executor.url;
    sidecars.push({ name: "executor", stop: () => executor.stop() });
    log(
      "executor",
      `embedded Inngest executor at ${executor.url}, runs ${appUrl} (runs page: ${executor.url}/)`,
    );
  } else {
    log(
      "executor",
      "using the configured Inngest server (INNGEST_DEV / INNGEST_EVENT_KEY / INNGEST_BASE_URL)",
    );
  }

  if (!process.env.SMTP_URL) {
    const sink = await startSmtpSink({
      port: env.SMTP_SINK_PORT,
      databaseUrl: env.DATABASE_URL,
      log: (line) => log("mail", line),
    });
    childEnv.SMTP_URL = sink.url;
    sidecars.push({ name: "mail", stop: () => sink.stop() });
    log(
      "mail",
      `SMTP sink at ${sink.url}; read the mail at ${new URL("/dev/mailbox", env.APP_URL)}`,
    );
  } else {
    log("mail", "sending through SMTP_URL");
  }

  return { sidecars, childEnv };
}
