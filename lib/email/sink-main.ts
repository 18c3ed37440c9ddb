/**
 * `npm run smtp-sink`: the development SMTP sink on its own, on
 * SMTP_SINK_PORT, storing into DATABASE_URL (migrate it first: `npm run
 * db:migrate`). `npm run dev` starts the same sink itself.
 */
import { parseEnv } from "@/lib/env-schema";
import { startSmtpSink } from "@/lib/email/sink";

const env = parseEnv(process.env);
const sink = await startSmtpSink({
  port: env.SMTP_SINK_PORT,
  databaseUrl: env.DATABASE_URL,
  log: (line) => console.log(`[smtp-sink] ${line}`),
});
console.log(`[smtp-sink] read the mail at ${new URL("/dev/mailbox", env.APP_URL).toString()}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void sink.stop().then(() => process.exit(0));
  });
}
