/**
 * Outcome emails, exactly once per job outcome as far as Dispatch can make it:
 *
 * - `prepareNotification` writes the notification row, keyed `<jobId>:<outcome>`
 *   (unique), with the rendered message and a Message-ID derived from the key.
 *   Repeats of the outcome event find the row and render nothing new, so the
 *   signed link in the mail is fixed at the first attempt.
 * - `sendNotification` claims the row (one sender at a time, with a lease),
 *   sends it over SMTP, and marks it sent. A row already sent is never sent again.
 *
 * NOTE: if the process dies after the SMTP server accepted the message but
 * before the row is marked sent, the claim's lease lets a retry send it again.
 * No SMTP client can close that gap; the stable Message-ID lets mail systems
 * and clients recognise the duplicate. A database that is merely restarting
 * then is waited for (`MARK_SENT_RETRIES`): the mail went out, and only
 * recording it can stop a second one.
 */
import "server-only";
import { createHash } from "node:crypto";
import type { Transporter } from "nodemailer";
import { z } from "zod";
import { db } from "@/lib/db";
import { retryIfDatabaseUnavailable } from "@/lib/db/errors";
import { emailAddressSchema, headerText } from "@/lib/email/address";
import {
  jobOutcomeReachedDataSchema,
  notificationKey,
  type JobOutcome,
  type JobOutcomeReachedData,
} from "@/lib/jobs/events";
import { renderJobOutcomeEmail } from "@/lib/email/templates/job-outcome";
import { smtpTransport } from "@/lib/email/transport";
import { env } from "@/lib/env";
import { jobAccessUrl } from "@/lib/jobs/access-token";
import { isTerminal, jobStatusSchema, type JobStatus } from "@/lib/jobs/schemas";
import { resultText } from "@/lib/jobs/view-model";

/**
 * How long a sender may hold a claim before a retry may take over. A live
 * sender holds it for its send, bounded by the SMTP timeouts
 * (lib/email/transport.ts: 10 s to connect, 10 s for the greeting, 30 s of
 * silence), and then for its wait to record the send while the database
 * restarts (`MARK_SENT_RETRIES`, 60 s): the lease must outlast both, or a
 * retry would send the mail again while the first sender is still recording
 * it. A sender that died holding it (the process killed mid-send) delays the
 * email by about this much; the notify function's retries outlast it.
 */
export const CLAIM_LEASE_SECONDS = 120;
const EXCERPT_CHARS = 320;
/** Seconds of waiting for a restarting database to record a sent email (one try a second). */
export const MARK_SENT_RETRIES = 60;

export class NotificationBusyError extends Error {
  override name = "NotificationBusyError";
  /**
   * When to try again: a young claim is a send in progress (null: soon, with the usual
   * backoff, to find it sent); an old one was left by a sender killed mid-send, and may be
   * taken over the moment it lapses, not when a backoff grown to minutes next comes round.
   */
  readonly retryAt: Date | null;
  constructor(
    readonly key: string,
    claimedAt: Date,
    now = Date.now(),
  ) {
    super(`Notification ${key} is being sent by another attempt; retry later`);
    this.retryAt =
      now - claimedAt.getTime() < LIVE_SEND_MS
        ? null
        : new Date(claimedAt.getTime() + CLAIM_LEASE_SECONDS * 1000 + CLAIM_RETRY_MARGIN_MS);
  }
}

/** A claim younger than this is taken for a send in progress (a send takes a second or two). */
const LIVE_SEND_MS = 15_000;
/** How long after an abandoned claim lapses it is taken over. */
const CLAIM_RETRY_MARGIN_MS = 1_000;

/** The job has not recorded the outcome it reported yet (its commit is still in flight). */
export class OutcomeNotRecordedError extends Error {
  override name = "OutcomeNotRecordedError";
  constructor(
    readonly jobId: string,
    readonly outcome: JobOutcome,
    readonly status: JobStatus,
  ) {
    super(`Job ${jobId} reported ${outcome} but is ${status}; retry later`);
  }
}

/** `<hash-of-key@app-host>`: the same for every attempt at one notification. */
export function notificationMessageId(key: string, appUrl: string = env.APP_URL): string {
  const hash = createHash("sha256").update(`dispatch:notification:${key}`).digest("hex");
  return `<notify.${hash.slice(0, 40)}@${new URL(appUrl).hostname || "localhost"}>`;
}

/** Markdown to a few plain sentences: no headings, emphasis, citation markers or link targets. */
export function plainExcerpt(markdown: string, max = EXCERPT_CHARS): string {
  const text = markdown
    .replace(/```[\s\S]*?```/g, " ")
    .replace(/!\[[^\]]*\]\([^)]*\)/g, " ")
    .replace(/\[([^\]]+)\]\([^)]*\)/g, "$1")
    .replace(/\s*\[\d+(?:,\s*\d+)*\]/g, "")
    .replace(/^\s{0,3}(#{1,6}|>|[-*+]|\d+\.)\s+/gm, "")
    .replace(/[*_`~]+/g, "")
    .replace(/\s+/g, " ")
    .trim();
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 1);
  const space = cut.lastIndexOf(" ");
  return `${(space > max * 0.6 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

const promptData = z.object({ prompt: z.string() });

async function excerptFor(
  job: { id: string; result: unknown; errorMessage: string | null },
  outcome: JobOutcome,
): Promise<string> {
  if (outcome === "completed") return plainExcerpt(resultText(job.result) ?? "");
  if (outcome === "failed") return plainExcerpt(job.errorMessage ?? "");
  const request = await db.jobEvent.findFirst({
    where: { jobId: job.id, type: "input.requested" },
    orderBy: { seq: "desc" },
    select: { data: true },
  });
  const prompt = promptData.safeParse(request?.data);
  return prompt.success ? plainExcerpt(prompt.data.prompt) : "";
}

function outcomeMatches(outcome: JobOutcome, status: JobStatus): boolean | "pending" {
  if (outcome === "needs_input") return status === "waiting_for_input";
  if (outcome === status) return true;
  return isTerminal(status) ? false : "pending";
}

export type PrepareResult =
  | { status: "skipped"; reason: "no_job" | "no_address" | "invalid_address" | "outdated" }
  | { status: "ready"; id: string; key: string; sent: boolean };

export async function prepareNotification(raw: JobOutcomeReachedData): Promise<PrepareResult> {
  const data = jobOutcomeReachedDataSchema.parse(raw);
  const key = notificationKey(data);
  const existing = await db.notification.findUnique({
    where: { key },
    select: { id: true, status: true },
  });
  if (existing) return { status: "ready", id: existing.id, key, sent: existing.status === "sent" };

  const job = await db.job.findUnique({
    where: { id: data.jobId },
    select: {
      id: true,
      title: true,
      status: true,
      notifyEmail: true,
      result: true,
      errorMessage: true,
    },
  });
  if (!job) return { status: "skipped", reason: "no_job" };
  if (!job.notifyEmail) return { status: "skipped", reason: "no_address" };
  const address = emailAddressSchema.safeParse(job.notifyEmail);
  if (!address.success) return { status: "skipped", reason: "invalid_address" };
  const status = jobStatusSchema.parse(job.status);
  const matches = outcomeMatches(data.outcome, status);
  if (matches === "pending") throw new OutcomeNotRecordedError(job.id, data.outcome, status);
  // e.g. a question the user already answered: that email would only confuse.
  if (!matches) return { status: "skipped", reason: "outdated" };

  const url = jobAccessUrl(job.id);
  const expiresSeconds = Number(new URL(url).searchParams.get("token")?.split(".")[1]);
  const message = await renderJobOutcomeEmail({
    title: job.title,
    outcome: data.outcome,
    excerpt: await excerptFor(job, data.outcome),
    url,
    expiresAt: new Date(expiresSeconds * 1000),
  });
  await db.notification.createMany({
    data: {
      key,
      jobId: job.id,
      outcome: data.outcome,
      toAddress: address.data,
      messageId: notificationMessageId(key),
      subject: headerText(message.subject),
      html: message.html,
      text: message.text,
    },
    // A concurrent attempt may have written it first; its row wins.
    skipDuplicates: true,
  });
  const row = await db.notification.findUniqueOrThrow({
    where: { key },
    select: { id: true, status: true },
  });
  return { status: "ready", id: row.id, key, sent: row.status === "sent" };
}

interface ClaimedRow {
  key: string;
  to_address: string;
  message_id: string;
  subject: string;
  html: string;
  text: string;
  attempts: number;
}

export type SendResult =
  | { status: "sent"; messageId: string; alreadySent: boolean }
  | { status: "failed"; error: Error; attempts: number };

/**
 * Sends one prepared notification. Returns `failed` (the row says why) rather
 * than throwing for SMTP errors, so the caller can record the failure before
 * it asks to be retried.
 */
export async function sendNotification(
  id: string,
  options: { transport?: Transporter } = {},
): Promise<SendResult> {
  const claimed = await db.$queryRaw<ClaimedRow[]>`
    UPDATE notifications
       SET status = 'sending', claimed_at = now(), attempts = attempts + 1
     WHERE id = ${id}::uuid
       AND (status IN ('pending', 'failed')
            OR (status = 'sending' AND claimed_at < now() - make_interval(secs => ${CLAIM_LEASE_SECONDS})))
    RETURNING key, to_address, message_id, subject, html, text, attempts`;
  const row = claimed[0];
  if (!row) {
    const current = await db.notification.findUniqueOrThrow({
      where: { id },
      select: { key: true, status: true, messageId: true, claimedAt: true },
    });
    if (current.status === "sent")
      return { status: "sent", messageId: current.messageId, alreadySent: true };
    throw new NotificationBusyError(current.key, current.claimedAt ?? new Date());
  }

  try {
    await (options.transport ?? smtpTransport()).sendMail({
      from: env.MAIL_FROM,
      to: row.to_address,
      subject: headerText(row.subject),
      html: row.html,
      text: row.text,
      messageId: row.message_id,
      // RFC 3834: an automatic message; auto-responders should not answer it.
      headers: { "Auto-Submitted": "auto-generated" },
    });
  } catch (cause) {
    const error = cause instanceof Error ? cause : new Error(String(cause));
    await db.notification.update({
      where: { id },
      data: { status: "failed", lastError: error.message.slice(0, 2000), claimedAt: null },
      select: { id: true },
    });
    return { status: "failed", error, attempts: row.attempts };
  }
  const sentAt = new Date();
  await retryIfDatabaseUnavailable(
    () =>
      db.notification.update({
        where: { id },
        data: { status: "sent", sentAt, lastError: null, claimedAt: null },
        select: { id: true },
      }),
    { retries: MARK_SENT_RETRIES },
  );
  return { status: "sent", messageId: row.message_id, alreadySent: false };
}

/** Remembers the address an owner asked to be emailed at, for their next job. */
export async function rememberOwnerEmail(
  client: Pick<typeof db, "owner">,
  ownerId: string,
  address: string,
): Promise<void> {
  const parsed = emailAddressSchema.safeParse(address);
  if (!parsed.success) return;
  await client.owner.update({
    where: { id: ownerId },
    data: { email: parsed.data },
    select: { id: true },
  });
}

/** The address an owner asked to be emailed at last, if any. */
export async function rememberedOwnerEmail(ownerId: string): Promise<string | null> {
  const owner = await db.owner.findUnique({ where: { id: ownerId }, select: { email: true } });
  return owner?.email ?? null;
}
