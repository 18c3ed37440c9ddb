/**
 * An outcome email whose SMTP send succeeds while PostgreSQL restarts: the
 * app reaches the database through a proxy cut during the send. The mail
 * went out, so the row must still end `sent` once the database is back;
 * left `sending`, a retry would take the claim over and send it again.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Transporter } from "nodemailer";
import { hostOf, startTcpProxy, type TcpProxy } from "@/test/tcp-proxy";

let proxy: TcpProxy;
let db: typeof import("@/lib/db").db;
let notifications: typeof import("@/lib/email/notifications");
let jobs: typeof import("@/test/jobs");
let commitStep: typeof import("@/lib/jobs/event-log").commitStep;

// NOTE: lib/env.ts reads the environment once, on first import.
beforeAll(async () => {
  proxy = await startTcpProxy(hostOf(process.env.DATABASE_URL!));
  process.env.DATABASE_URL = proxy.urlFor(process.env.DATABASE_URL!);
  ({ db } = await import("@/lib/db"));
  notifications = await import("@/lib/email/notifications");
  jobs = await import("@/test/jobs");
  ({ commitStep } = await import("@/lib/jobs/event-log"));
});
afterAll(async () => {
  await proxy?.restore();
  await proxy?.close();
});

it("records an email sent while the database restarted, so it is never sent twice", async () => {
  const job = await jobs.createTestJob();
  await db.job.update({
    where: { id: job.id },
    data: { notifyEmail: `owner-${process.pid}@example.test` },
    select: { id: true },
  });
  await commitStep(job.id, "start", { status: "running" });
  await commitStep(job.id, "finish", { status: "completed", result: { markdown: "Done." } });
  const prepared = await notifications.prepareNotification({ jobId: job.id, outcome: "completed" });
  if (prepared.status !== "ready") throw new Error(`not prepared: ${prepared.status}`);

  let sends = 0;
  const transport = {
    async sendMail() {
      sends++;
      // The server accepts the message while the database goes away for a while.
      await proxy.cut();
      setTimeout(() => void proxy.restore(), 2500);
      return { messageId: "accepted" };
    },
  } as unknown as Transporter;

  const result = await notifications.sendNotification(prepared.id, { transport });
  expect(result).toMatchObject({ status: "sent", alreadySent: false });
  const again = await notifications.sendNotification(prepared.id, { transport });
  expect(again).toMatchObject({ status: "sent", alreadySent: true });
  expect(sends).toBe(1);
  const row = await db.notification.findUniqueOrThrow({
    where: { id: prepared.id },
    select: { status: true },
  });
  expect(row.status).toBe("sent");
});
