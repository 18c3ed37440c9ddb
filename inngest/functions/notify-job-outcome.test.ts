/**
 * The notify function end to end: the real SDK serving it over loopback
 * HTTP, the embedded executor running it (with its retries), real SMTP into
 * the sink on a random port, and Postgres holding jobs, notifications and
 * the received mail.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Executor } from "@/inngest-executor";
import {
  dropSchema,
  sendEvent,
  startTestApp,
  startTestExecutor,
  testClient,
  testSchema,
  waitForRuns,
  type TestApp,
} from "@/inngest-executor/testing/helpers";
import { createNotifyJobOutcome, NOTIFY_RETRIES } from "@/inngest/functions/notify-job-outcome";
import { db } from "@/lib/db";
import { jobOutcomeReached } from "@/lib/jobs/events";
import { startSmtpSink, type SmtpSink } from "@/lib/email/sink";
import { CLAIM_LEASE_SECONDS, prepareNotification } from "@/lib/email/notifications";
import { createSmtpTransport } from "@/lib/email/transport";
import { commitStep } from "@/lib/jobs/event-log";
import { createTestJob } from "@/test/jobs";

const schema = testSchema("notify");
let sink: SmtpSink;
let executor: Executor;
let app: TestApp;
/** Executions of the send step (each makes a transport, whether or not it gets to send). */
let sendAttempts = 0;

beforeAll(async () => {
  sink = await startSmtpSink({ port: 0, databaseUrl: process.env.DATABASE_URL! });
  executor = await startTestExecutor({ schema });
  const client = testClient("notify-test", executor.url);
  const notify = createNotifyJobOutcome(client, {
    transport: () => {
      sendAttempts += 1;
      return createSmtpTransport(sink.url);
    },
  });
  app = await startTestApp(client, [notify]);
  await executor.sync(app.url);
});

afterAll(async () => {
  await app?.stop();
  await executor?.stop();
  await sink?.stop();
  await dropSchema(schema);
});

async function finishedJob(notifyEmail: string | null) {
  const job = await createTestJob({ title: "Why is VACUUM needed?" });
  await db.job.update({ where: { id: job.id }, data: { notifyEmail }, select: { id: true } });
  await commitStep(job.id, "start", { status: "running" });
  await commitStep(job.id, "finish", {
    status: "completed",
    result: { markdown: "VACUUM reclaims space held by dead row versions." },
  });
  return job;
}

async function emailEvents(jobId: string) {
  return db.jobEvent.findMany({
    where: { jobId, type: { startsWith: "email." } },
    orderBy: { seq: "asc" },
    select: { type: true, step: true, data: true },
  });
}

describe("notify-job-outcome", () => {
  it("sends exactly one email per outcome while the send step is forced to retry", async () => {
    const address = `retry-${randomUUID()}@example.test`;
    const job = await finishedJob(address);
    sink.failNext(2);
    const before = sendAttempts;

    // The outcome reported three times (as retried steps of a jobs function
    // might), each a separate run, while SMTP refuses the first two messages.
    const ids = await Promise.all(
      [1, 2, 3].map((n) =>
        sendEvent(executor.url, {
          id: `${job.id}-outcome-try-${n}`,
          name: jobOutcomeReached.name,
          data: { jobId: job.id, outcome: "completed" },
        }),
      ),
    );
    const runs = (
      await Promise.all(ids.map(([id]) => waitForRuns(executor.url, id!, 1, 30_000)))
    ).flat();
    expect(runs.map((run) => run.status)).toEqual(["Completed", "Completed", "Completed"]);

    const mail = await db.mailboxMessage.findMany({ where: { envelopeTo: address } });
    expect(mail).toHaveLength(1);
    expect(mail[0]!.subject).toBe("Done: Why is VACUUM needed?");
    expect(sendAttempts - before).toBeGreaterThanOrEqual(3);

    const notification = await db.notification.findUniqueOrThrow({
      where: { key: `${job.id}:completed` },
      select: { status: true, attempts: true, messageId: true },
    });
    expect(notification).toMatchObject({
      status: "sent",
      attempts: 3,
      messageId: mail[0]!.messageId,
    });

    const events = await emailEvents(job.id);
    expect(events.map((event) => event.type)).toEqual([
      "email.failed",
      "email.failed",
      "email.sent",
    ]);
    expect(events.map((event) => event.step)).toEqual([
      "email:completed:attempt-1",
      "email:completed:attempt-2",
      "email:completed",
    ]);
  });

  it("gives up after its retries when SMTP keeps refusing, and says so on the job", async () => {
    const address = `down-${randomUUID()}@example.test`;
    const job = await finishedJob(address);
    sink.failNext(1_000);
    try {
      const [id] = await sendEvent(executor.url, {
        name: jobOutcomeReached.name,
        data: { jobId: job.id, outcome: "completed" },
      });
      const [run] = await waitForRuns(executor.url, id!, 1, 30_000);
      expect(run!.status).toBe("Failed");
    } finally {
      sink.failNext(0);
    }
    expect(await db.mailboxMessage.count({ where: { envelopeTo: address } })).toBe(0);
    const events = await emailEvents(job.id);
    expect(events).toHaveLength(NOTIFY_RETRIES + 1);
    expect(events.every((event) => event.type === "email.failed")).toBe(true);
    expect(events.at(-1)!.data).toMatchObject({ final: true, attempt: NOTIFY_RETRIES + 1 });
    expect(events.at(-2)!.data).toMatchObject({ final: false });
    expect(
      await db.notification.findUniqueOrThrow({
        where: { key: `${job.id}:completed` },
        select: { status: true, attempts: true },
      }),
    ).toEqual({ status: "failed", attempts: NOTIFY_RETRIES + 1 });
  });

  it("takes over a claim left by a killed sender as soon as it lapses, with one retry", async () => {
    const address = `orphan-${randomUUID()}@example.test`;
    const job = await finishedJob(address);
    const data = { jobId: job.id, outcome: "completed" as const };
    const ready = await prepareNotification(data);
    if (ready.status !== "ready") throw new Error(`not prepared: ${ready.reason}`);
    // A sender killed mid-send 5 s before its claim lapses (the executor here backs off at most
    // 200 ms: its 20 retries would all be spent before then).
    await db.$executeRaw`UPDATE notifications SET status = 'sending', attempts = 1,
      claimed_at = now() - make_interval(secs => ${CLAIM_LEASE_SECONDS - 5}) WHERE id = ${ready.id}::uuid`;
    const lapses = Date.now() + 5_000;
    const attemptsBefore = sendAttempts;
    const [id] = await sendEvent(executor.url, { name: jobOutcomeReached.name, data });
    const [run] = await waitForRuns(executor.url, id!, 1, 30_000);
    expect(run!.status).toBe("Completed");
    const [mail] = await db.mailboxMessage.findMany({
      where: { envelopeTo: address },
      select: { receivedAt: true },
    });
    expect(mail!.receivedAt.getTime()).toBeGreaterThanOrEqual(lapses - 500);
    // Two attempts of the send step: the one that found the claim, and the one when it lapsed.
    expect(sendAttempts - attemptsBefore).toBe(2);
    expect(await db.mailboxMessage.count({ where: { envelopeTo: address } })).toBe(1);
  });

  it("sends nothing for a job without an address", async () => {
    const job = await finishedJob(null);
    const [id] = await sendEvent(executor.url, {
      name: jobOutcomeReached.name,
      data: { jobId: job.id, outcome: "completed" },
    });
    const [run] = await waitForRuns(executor.url, id!);
    expect(run).toMatchObject({
      status: "Completed",
      output: { status: "skipped", reason: "no_address" },
    });
    expect(await db.notification.count({ where: { jobId: job.id } })).toBe(0);
    expect(await emailEvents(job.id)).toEqual([]);
  });
});
