/**
 * Starting a job, for the tRPC router and for the chat (`/research …`): the
 * Job row and its `job.queued` event are written first, then the orchestrator
 * is told. If that fails the job is marked failed, so its page says so
 * instead of waiting forever.
 */
import "server-only";
import { conversationUpsertSql } from "@/lib/chat/store";
import { db } from "@/lib/db";
import { DomainError } from "@/lib/errors";
import type { Prisma } from "@/lib/generated/prisma/client";
import { jobDispatcher } from "@/lib/jobs/dispatch";
import { rememberOwnerEmail } from "@/lib/email/notifications";
import { dollarsSchema } from "@/lib/ai/pricing";
import { insertBatchItems } from "@/lib/jobs/batch/items";
import { batchItemsFor, type NewBatchItem } from "@/lib/jobs/batch/sources";
import { appendJobEvents, commitStep } from "@/lib/jobs/event-log";
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

const DISPATCH_FAILED = {
  code: "dispatch_failed",
  message:
    "Dispatch could not hand this job to its background worker, so it never started. Please try again.",
} as const;

export async function createJob(
  ownerId: string,
  rawInput: CreateJobInput,
  correlationId: string,
): Promise<{ id: string; status: JobStatus }> {
  const input = createJobInputSchema.parse(rawInput);
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
          conversationId: fromChat?.conversationId ?? null,
          afterMessageId: fromChat?.afterMessageId ?? null,
          ...limits,
        },
        select: { id: true },
      });
      await insertBatchItems(tx, id, items);
      if (input.notifyEmail) await rememberOwnerEmail(tx, ownerId, input.notifyEmail);
      await appendJobEvents(tx, id, "create", [{ type: "job.queued", data: { kind: input.kind } }]);
      // 10,000 rows of a batch job are ten multi-row INSERTs, more than the default 5 s on a busy machine.
    },
    { timeout: 60_000 },
  );

  try {
    await jobDispatcher().sendJobRequested({ id, kind: input.kind, ownerId, correlationId });
  } catch (error) {
    logger.error("jobs.dispatch_failed", { jobId: id, correlationId, error });
    await commitStep(id, "dispatch", { status: "failed", error: DISPATCH_FAILED });
    return { id, status: "failed" };
  }
  return { id, status: "queued" };
}
