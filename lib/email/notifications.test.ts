import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { DomainError } from "@/lib/errors";
import { emailAddressSchema, headerText } from "@/lib/email/address";
import { jobOutcomeEvent, notificationKey } from "@/lib/jobs/events";
import {
  CLAIM_LEASE_SECONDS,
  MARK_SENT_RETRIES,
  notificationMessageId,
  NotificationBusyError,
  OutcomeNotRecordedError,
  plainExcerpt,
  prepareNotification,
  rememberedOwnerEmail,
  rememberOwnerEmail,
  sendNotification,
} from "@/lib/email/notifications";
import { startSmtpSink, type SmtpSink } from "@/lib/email/sink";
import { renderJobOutcomeEmail } from "@/lib/email/templates/job-outcome";
import { createSmtpTransport, SMTP_TIMEOUTS_MS } from "@/lib/email/transport";
import { authorizeJob } from "@/lib/jobs/access";
import { checkJobAccessToken, createJobAccessToken } from "@/lib/jobs/access-token";
import { createJob } from "@/lib/jobs/create";
import { commitStep } from "@/lib/jobs/event-log";
import type { JobStatus } from "@/lib/jobs/schemas";
import { createTestJob, createTestOwner, stubJobDispatcher } from "@/test/jobs";

let sink: SmtpSink;
let counter = 0;

beforeAll(async () => {
  sink = await startSmtpSink({ port: 0, databaseUrl: process.env.DATABASE_URL! });
});
afterAll(() => sink.stop());

const transport = () => createSmtpTransport(sink.url);

function uniqueAddress(label: string) {
  counter += 1;
  return `${label}-${process.pid}-${counter}@example.test`;
}

async function jobWith(options: {
  status: JobStatus;
  title?: string;
  notifyEmail?: string | null;
  result?: unknown;
  errorMessage?: string;
  prompt?: string;
}) {
  const job = await createTestJob({ title: options.title ?? "What is MVCC?" });
  await db.job.update({
    where: { id: job.id },
    data: {
      notifyEmail: options.notifyEmail === undefined ? uniqueAddress("owner") : options.notifyEmail,
    },
    select: { id: true },
  });
  if (options.status === "queued") return job;
  await commitStep(job.id, "start", { status: "running" });
  if (options.status === "completed")
    await commitStep(job.id, "finish", {
      status: "completed",
      result: (options.result ?? {
        markdown: "# Report\n\nMVCC keeps **old row versions** [1].",
      }) as object,
    });
  if (options.status === "failed")
    await commitStep(job.id, "finish", {
      status: "failed",
      error: { code: "model_error", message: options.errorMessage ?? "The model gave up." },
    });
  if (options.status === "waiting_for_input")
    await commitStep(job.id, "plan", {
      status: "waiting_for_input",
      events: [
        { type: "input.requested", data: { prompt: options.prompt ?? "Approve the plan?" } },
      ],
    });
  return job;
}

async function addressOf(jobId: string) {
  return (await db.job.findUniqueOrThrow({ where: { id: jobId }, select: { notifyEmail: true } }))
    .notifyEmail!;
}

function mailTo(address: string) {
  return db.mailboxMessage.findMany({
    where: { envelopeTo: address },
    orderBy: { receivedAt: "asc" },
  });
}

function linkIn(text: string): URL {
  const match = /https?:\/\/\S+\/jobs\/[A-Za-z0-9_-]{24}\?token=[A-Za-z0-9._-]+/.exec(text);
  if (!match) throw new Error(`no job link in: ${text}`);
  return new URL(match[0]);
}

async function prepared(jobId: string, outcome: "completed" | "failed" | "needs_input") {
  const result = await prepareNotification({ jobId, outcome });
  if (result.status !== "ready") throw new Error(`not ready: ${JSON.stringify(result)}`);
  return result;
}

describe("outcome emails", () => {
  it("sends one email with the title, outcome, excerpt and a signed link, and never again", async () => {
    const job = await jobWith({ status: "completed" });
    const address = await addressOf(job.id);
    const first = await prepared(job.id, "completed");
    expect(first.key).toBe(`${job.id}:completed`);

    const sent = await sendNotification(first.id, { transport: transport() });
    expect(sent).toMatchObject({
      status: "sent",
      alreadySent: false,
      messageId: notificationMessageId(first.key),
    });

    const [mail, ...more] = await mailTo(address);
    expect(more).toHaveLength(0);
    expect(mail!.messageId).toBe(notificationMessageId(first.key));
    expect(mail!.subject).toBe("Done: What is MVCC?");
    expect(mail!.text).toContain("MVCC keeps old row versions.");
    expect(mail!.html).toContain("What is MVCC?");
    const link = linkIn(mail!.text!);
    expect(link.pathname).toBe(`/jobs/${job.id}`);
    expect(mail!.html).toContain(link.toString());
    expect(checkJobAccessToken(job.id, link.searchParams.get("token")!)).toBe("valid");

    // The outcome reported again, and the send step retried: nothing new goes out.
    const again = await prepared(job.id, "completed");
    expect(again).toMatchObject({ id: first.id, sent: true });
    expect(await sendNotification(again.id, { transport: transport() })).toMatchObject({
      status: "sent",
      alreadySent: true,
    });
    expect(await mailTo(address)).toHaveLength(1);
  });

  it("leases a claim for longer than a live sender can hold it: the send's timeouts, then the wait to record it", () => {
    // A shorter lease lets a retry send the mail again while the first sender still records it.
    const longestSendMs = Object.values(SMTP_TIMEOUTS_MS).reduce((sum, ms) => sum + ms, 0);
    expect(CLAIM_LEASE_SECONDS * 1000).toBeGreaterThan(longestSendMs + MARK_SENT_RETRIES * 1000);
  });

  it("derives the Message-ID from the notification key alone", () => {
    const key = notificationKey({ jobId: "a".repeat(24), outcome: "failed" });
    expect(notificationMessageId(key)).toBe(notificationMessageId(key));
    expect(notificationMessageId(key)).not.toBe(
      notificationMessageId(key.replace("failed", "completed")),
    );
    expect(notificationMessageId(key, "https://dispatch.example.com")).toMatch(
      /^<notify\.[0-9a-f]{40}@dispatch\.example\.com>$/,
    );
  });

  it("says what failed, or what the job asks, in the excerpt", async () => {
    const failed = await jobWith({
      status: "failed",
      errorMessage: "The source could not be fetched (404).",
    });
    await sendNotification((await prepared(failed.id, "failed")).id, { transport: transport() });
    const [failMail] = await mailTo(await addressOf(failed.id));
    expect(failMail!.subject).toBe("Failed: What is MVCC?");
    expect(failMail!.text).toContain("The source could not be fetched (404).");

    const waiting = await jobWith({
      status: "waiting_for_input",
      prompt: "Approve these 3 sub-questions?",
    });
    await sendNotification((await prepared(waiting.id, "needs_input")).id, {
      transport: transport(),
    });
    const [askMail] = await mailTo(await addressOf(waiting.id));
    expect(askMail!.subject).toBe("Needs your input: What is MVCC?");
    expect(askMail!.text).toContain("Approve these 3 sub-questions?");
  });

  it("skips jobs without an address and outcomes that are no longer true, and waits for unrecorded ones", async () => {
    const silent = await jobWith({ status: "completed", notifyEmail: null });
    expect(await prepareNotification({ jobId: silent.id, outcome: "completed" })).toEqual({
      status: "skipped",
      reason: "no_address",
    });
    const answered = await jobWith({ status: "completed" });
    expect(await prepareNotification({ jobId: answered.id, outcome: "needs_input" })).toEqual({
      status: "skipped",
      reason: "outdated",
    });
    expect(await prepareNotification({ jobId: answered.id, outcome: "failed" })).toEqual({
      status: "skipped",
      reason: "outdated",
    });
    const running = await jobWith({ status: "queued" });
    await commitStep(running.id, "start", { status: "running" });
    await expect(
      prepareNotification({ jobId: running.id, outcome: "completed" }),
    ).rejects.toBeInstanceOf(OutcomeNotRecordedError);
    expect(await prepareNotification({ jobId: "b".repeat(24), outcome: "completed" })).toEqual({
      status: "skipped",
      reason: "no_job",
    });
  });

  it("records an SMTP failure on the row and sends on the next attempt", async () => {
    const job = await jobWith({ status: "completed" });
    const { id } = await prepared(job.id, "completed");
    sink.failNext(1);
    const failed = await sendNotification(id, { transport: transport() });
    expect(failed).toMatchObject({ status: "failed", attempts: 1 });
    expect(
      await db.notification.findUniqueOrThrow({
        where: { id },
        select: { status: true, lastError: true },
      }),
    ).toMatchObject({ status: "failed", lastError: expect.stringMatching(/451/) });

    expect(await sendNotification(id, { transport: transport() })).toMatchObject({
      status: "sent",
    });
    expect(await mailTo(await addressOf(job.id))).toHaveLength(1);
    expect(
      await db.notification.findUniqueOrThrow({
        where: { id },
        select: { status: true, attempts: true },
      }),
    ).toEqual({ status: "sent", attempts: 2 });
  });

  it("lets one of several concurrent senders send", async () => {
    const job = await jobWith({ status: "completed" });
    const { id } = await prepared(job.id, "completed");
    const results = await Promise.allSettled(
      Array.from({ length: 4 }, () => sendNotification(id, { transport: transport() })),
    );
    const fresh = results.filter(
      (result) =>
        result.status === "fulfilled" &&
        result.value.status === "sent" &&
        !result.value.alreadySent,
    );
    expect(fresh).toHaveLength(1);
    for (const result of results) {
      if (result.status === "rejected") expect(result.reason).toBeInstanceOf(NotificationBusyError);
    }
    expect(await mailTo(await addressOf(job.id))).toHaveLength(1);
  });
});

describe("a claim held by another attempt", () => {
  it("is retried soon while young (a send in progress), and when it lapses once old (a dead sender)", () => {
    const now = Date.parse("2026-11-29T12:00:00Z");
    expect(new NotificationBusyError("k", new Date(now - 2_000), now).retryAt).toBeNull();
    const abandoned = new NotificationBusyError("k", new Date(now - 30_000), now);
    expect(abandoned.retryAt?.getTime()).toBe(now - 30_000 + CLAIM_LEASE_SECONDS * 1000 + 1_000);
  });
});

describe("header injection", () => {
  it("refuses addresses carrying CR/LF or a second address", () => {
    for (const address of [
      "victim@example.test\r\nBcc: attacker@evil.test",
      "victim@example.test\nBcc: attacker@evil.test",
      "victim@example.test, attacker@evil.test",
      "Eve <attacker@evil.test>",
      "victim@example.test%0d%0aBcc:attacker@evil.test",
    ]) {
      expect(emailAddressSchema.safeParse(address).success, JSON.stringify(address)).toBe(false);
    }
    expect(emailAddressSchema.parse("  person@example.test ")).toBe("person@example.test");
  });

  it("flattens names and subjects to one line", () => {
    expect(headerText("Eve\r\nBcc: attacker@evil.test\u2028X: 1\u0000")).toBe(
      "Eve Bcc: attacker@evil.test X: 1",
    );
  });

  it("adds no header when a job title carries CRLF payloads", async () => {
    const title = "Report\r\nBcc: attacker@evil.test\r\nX-Injected: yes\n\rContent-Type: text/evil";
    const job = await jobWith({ status: "completed", title });
    const address = await addressOf(job.id);
    await sendNotification((await prepared(job.id, "completed")).id, { transport: transport() });

    const [mail, ...more] = await mailTo(address);
    expect(more).toHaveLength(0);
    expect(mail!.envelopeTo).toBe(address);
    expect(mail!.subject).toBe(
      "Done: Report Bcc: attacker@evil.test X-Injected: yes Content-Type: text/evil",
    );
    const headerKeys = (mail!.headers as Array<{ key: string }>).map((header) => header.key);
    expect(headerKeys).not.toContain("bcc");
    expect(headerKeys).not.toContain("x-injected");
    expect(headerKeys.filter((key) => key === "content-type")).toHaveLength(1);
    const headerBlock = mail!.raw.split(/\r?\n\r?\n/)[0]!;
    expect(headerBlock).not.toMatch(/^(Bcc|X-Injected):/im);
    expect(headerBlock).not.toContain("attacker@evil.test\r\nX");

    // And a display name sent straight through nodemailer, flattened first.
    const to = uniqueAddress("named");
    await transport().sendMail({
      from: "dispatch@localhost",
      to: { name: headerText("Eve\r\nBcc: attacker@evil.test"), address: to },
      subject: headerText("Hi\r\nX-Injected: yes"),
      text: "x",
    });
    const [named] = await mailTo(to);
    const namedKeys = (named!.headers as Array<{ key: string }>).map((header) => header.key);
    expect(namedKeys).not.toContain("bcc");
    expect(namedKeys).not.toContain("x-injected");
  });
});

describe("the link's token", () => {
  it("opens the job for a stranger, and a tampered or expired token is refused", async () => {
    const job = await jobWith({ status: "completed" });
    await sendNotification((await prepared(job.id, "completed")).id, { transport: transport() });
    const [mail] = await mailTo(await addressOf(job.id));
    const token = linkIn(mail!.text!).searchParams.get("token")!;
    const stranger = { ownerId: await createTestOwner() };

    await expect(authorizeJob(stranger, job.id, token, "read")).resolves.toMatchObject({
      access: "token",
    });

    const [version, expiry, mac] = token.split(".") as [string, string, string];
    const tampered = [
      // NOTE: not the last character: its two lowest bits are padding, so some flips decode the same.
      `${version}.${expiry}.${mac.slice(0, 20)}${mac[20] === "A" ? "B" : "A"}${mac.slice(21)}`,
      `${version}.${Number(expiry) + 86_400}.${mac}`,
      `${version}.${expiry}.${mac.slice(0, 20)}`,
    ];
    for (const bad of tampered) {
      expect(checkJobAccessToken(job.id, bad)).toBe("invalid");
      await expect(authorizeJob(stranger, job.id, bad, "read")).rejects.toBeInstanceOf(DomainError);
    }
    // Valid for this job only.
    const other = await jobWith({ status: "completed" });
    await expect(authorizeJob(stranger, other.id, token, "read")).rejects.toMatchObject({
      code: "job_not_found",
    });

    const expired = createJobAccessToken(job.id, {
      ttlSeconds: 60,
      now: new Date(Date.now() - 120_000),
    });
    expect(checkJobAccessToken(job.id, expired)).toBe("expired");
    await expect(authorizeJob(stranger, job.id, expired, "read")).rejects.toMatchObject({
      code: "job_not_found",
    });
    expect(
      checkJobAccessToken(job.id, token, { now: new Date(Number(expiry) * 1000 + 1000) }),
    ).toBe("expired");
  });
});

describe("template", () => {
  it("escapes the title in HTML and keeps the link whole in plain text", async () => {
    const url = `http://localhost:3000/jobs/${"d".repeat(24)}?token=v1.1893456000.${"e".repeat(43)}`;
    const email = await renderJobOutcomeEmail({
      title: '<img src=x onerror="alert(1)"> & co',
      outcome: "needs_input",
      excerpt: "Approve <b>this</b>?",
      url,
      expiresAt: new Date("2030-01-01T00:00:00Z"),
    });
    expect(email.subject).toBe('Needs your input: <img src=x onerror="alert(1)"> & co');
    expect(email.html).not.toContain("<img src=x");
    expect(email.html).toContain("&lt;img src=x");
    expect(email.html).not.toContain("<b>this</b>");
    expect(email.html).toContain(`href="${url}"`);
    expect(email.text).toContain(url);
    expect(email.text).toContain("January 1, 2030");
    expect(email.text).toContain("Approve <b>this</b>?");
  });
});

describe("remembered address", () => {
  it("keeps the last valid address an owner gave", async () => {
    const ownerId = await createTestOwner();
    expect(await rememberedOwnerEmail(ownerId)).toBeNull();
    await rememberOwnerEmail(db, ownerId, "first@example.test");
    await rememberOwnerEmail(db, ownerId, "bad\r\nBcc: x@evil.test");
    expect(await rememberedOwnerEmail(ownerId)).toBe("first@example.test");
  });

  it("is remembered when a job is started with an address", async () => {
    const { restore } = stubJobDispatcher();
    try {
      const ownerId = await createTestOwner();
      await createJob(
        ownerId,
        {
          kind: "research",
          question: "What is TOAST?",
          approvePlan: false,
          notifyEmail: "me@example.test",
        },
        randomUUID(),
      );
      expect(await rememberedOwnerEmail(ownerId)).toBe("me@example.test");
      await createJob(
        ownerId,
        { kind: "research", question: "And HOT updates?", approvePlan: false },
        randomUUID(),
      );
      expect(await rememberedOwnerEmail(ownerId)).toBe("me@example.test");
    } finally {
      restore();
    }
  });
});

describe("excerpts", () => {
  it("turns Markdown into a short plain text", () => {
    expect(plainExcerpt("## Heading\n\n- **Bold** [link](https://x.test) and `code` [2, 3].")).toBe(
      "Heading Bold link and code.",
    );
    const long = plainExcerpt("word ".repeat(200), 50);
    expect(long.length).toBeLessThanOrEqual(50);
    expect(long.endsWith("…")).toBe(true);
  });

  it("builds the outcome event with the notification key as its id", () => {
    const jobId = "c".repeat(24);
    expect(jobOutcomeEvent(jobId, "completed")).toEqual({
      id: `${jobId}:completed`,
      name: "job/outcome.reached",
      data: { jobId, outcome: "completed" },
    });
    expect(() => jobOutcomeEvent("not a job", "completed")).toThrow();
  });
});
