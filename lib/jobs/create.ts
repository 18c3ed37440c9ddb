/**
 * Starting a job, for the tRPC router and for the chat (`/research …`): the
 * Job row and its `job.queued` event are written first, then the orchestrator
 * is told, with a few quick retries (it may be restarting). If it still
 * cannot be reached the job stays queued: it was accepted and stored, and the
 * sweeper (inngest/functions/resend-queued-jobs.ts) sends its request again
 * once the orchestrator is back, as it does for a job whose process died
 * before its send. Failing it instead would turn a blip of a few seconds into
 * work the user must submit again.
 */
import "server-only";
import { setTimeout as sleep } from "node:timers/promises";
import { conversationUpsertSql } from "@/lib/chat/store";
import { db } from "@/lib/db";
import { isUniqueViolation } from "@/lib/db/errors";
import { DomainError } from "@/lib/errors";
import type { Prisma } from "@/lib/generated/prisma/client";
import { jobDispatcher, type DispatchedJob } from "@/lib/jobs/dispatch";
import { rememberOwnerEmail } from "@/lib/email/notifications";
import { dollarsSchema } from "@/lib/ai/pricing";
import { insertBatchItems } from "@/lib/jobs/batch/items";
import { batchItemsFor, type NewBatchItem } from "@/lib/jobs/batch/sources";
import { appendJobEvents } from "@/lib/jobs/event-log";
import { newJobId } from "@/lib/jobs/ids";
import {
  createJobInputSchema,
  type CreateJobInput,
  type JobStatus,
  type StoredJobInput,
} from "@/lib/jobs/schemas";
import { logger } from "@/lib/logger";

const TITLE_MAX = 120;

function clip(text: string, max = TITLE_MAX): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1).trimEnd()}…` : line;
}

function urlTitle(raw: string): string {
  const url = new URL(raw);
  return clip(`${url.hostname}${url.pathname === "/" ? "" : url.pathname}`);
}

/** Waits between send attempts: under 4 s in all, what an executor restart takes. */
const SEND_RETRY_DELAYS_MS = [250, 500, 1000, 2000];

export async function createJob(
  ownerId: string,
  rawInput: CreateJobInput,
  correlationId: string,
): Promise<{ id: string; status: JobStatus }> {
  const input = createJobInputSchema.parse(rawInput);
  if (input.requestId) {
    const earlier = await submittedBefore(ownerId, input.requestId);
    if (earlier) return earlier;
  }
  let title: string;
  let stored: StoredJobInput;
  let items: NewBatchItem[] = [];
  if (input.kind === "batch") {
    const batch = await batchItemsFor(ownerId, input.source);
    items = batch.items;
    stored = { kind: "batch", mode: input.mode, retry: input.retry, source: batch.stored };
    title = clip(batch.title);
  } else if (input.kind === "research") {
    title = clip(input.question);
    stored = {
      kind: "research",
      question: input.question,
      approvePlan: input.approvePlan,
      economy: input.economy,
    };
  } else {
    stored = { kind: "summarize", source: input.source };
    const source = input.source;
    if (source.type === "url") title = `Summary of ${urlTitle(source.url)}`;
    else if (source.type === "text") title = `Summary of ${clip(source.title ?? source.text, 80)}`;
    else {
      const document = await db.document.findFirst({
        where: { id: source.documentId, OR: [{ ownerId }, { ownerId: null }] },
        select: { title: true },
      });
      if (!document) throw new DomainError("document_not_found");
      title = `Summary of ${clip(document.title, 80)}`;
    }
  }

  const fromChat = input.fromChat;
  const limits =
    input.kind !== "summarize"
      ? {
          budgetMicros:
            input.budget === undefined ? null : BigInt(dollarsSchema.parse(input.budget)),
          deadlineAt:
            input.deadlineMinutes === undefined
              ? null
              : new Date(Date.now() + input.deadlineMinutes * 60_000),
        }
      : {};
  const id = newJobId();
  try {
    await insertJob();
  } catch (error) {
    // The same submission, sent twice at once: the other request's job won.
    const earlier =
      input.requestId && isUniqueViolation(error)
        ? await submittedBefore(ownerId, input.requestId)
        : null;
    if (earlier) return earlier;
    throw error;
  }
  await sendJobRequested({ id, kind: input.kind, ownerId, correlationId });
  return { id, status: "queued" };

  async function insertJob() {
    await db.$transaction(
      async (tx) => {
        if (fromChat) {
          // A first message may be a command: the conversation starts with the job.
          const { conversationId } = fromChat;
          await tx.$executeRaw(conversationUpsertSql({ id: conversationId, ownerId, title }));
          const owned = await tx.conversation.count({ where: { id: conversationId, ownerId } });
          if (!owned) throw new DomainError("conversation_not_found");
        }
        await tx.job.create({
          data: {
            id,
            ownerId,
            kind: input.kind,
            title,
            input: stored as Prisma.InputJsonObject,
            correlationId,
            notifyEmail: input.notifyEmail ?? null,
            requestId: input.requestId ?? null,
            conversationId: fromChat?.conversationId ?? null,
            afterMessageId: fromChat?.afterMessageId ?? null,
            ...limits,
          },
          select: { id: true },
        });
        await insertBatchItems(tx, id, items);
        if (input.notifyEmail) await rememberOwnerEmail(tx, ownerId, input.notifyEmail);
        await appendJobEvents(tx, id, "create", [
          { type: "job.queued", data: { kind: input.kind } },
        ]);
        // 10,000 rows of a batch job are ten multi-row INSERTs, more than the default 5 s on a busy machine.
      },
      { timeout: 60_000 },
    );
  }
}

/**
 * The job an earlier request with this key created, if any. One still queued
 * is sent to the orchestrator again: the request that created it may have died
 * before its send (a repeat is harmless, its event id is the job's).
 */
async function submittedBefore(
  ownerId: string,
  requestId: string,
): Promise<{ id: string; status: JobStatus } | null> {
  const job = await db.job.findUnique({
    where: { ownerId_requestId: { ownerId, requestId } },
    select: { id: true, kind: true, status: true, correlationId: true },
  });
  if (!job) return null;
  if (job.status === "queued")
    await sendJobRequested({
      id: job.id,
      kind: job.kind,
      ownerId,
      correlationId: job.correlationId,
    });
  return { id: job.id, status: job.status };
}

/** Sends the request, retried; a repeat is harmless (its event id is the job's). */
async function sendJobRequested(job: DispatchedJob): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await jobDispatcher().sendJobRequested(job);
      return;
    } catch (error) {
      const delay = SEND_RETRY_DELAYS_MS[attempt];
      if (delay === undefined) {
        logger.warn("jobs.dispatch_deferred", {
          jobId: job.id,
          correlationId: job.correlationId,
          error,
        });
        return;
      }
      await sleep(delay);
    }
  }
}
