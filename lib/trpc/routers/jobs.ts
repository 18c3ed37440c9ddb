/**
 * Jobs: start them, read them, act on them, and follow their event log live.
 * Access is decided by lib/jobs/access.ts; everything a caller may not see is
 * NOT_FOUND, in queries, mutations and the subscription alike.
 */
import { tracked, TRPCError } from "@trpc/server";
import { z } from "zod";
import type { Prisma } from "@/lib/generated/prisma/client";
import { authorizeJob, jobNotFound } from "@/lib/jobs/access";
import { createJob } from "@/lib/jobs/create";
import { jobDispatcher } from "@/lib/jobs/dispatch";
import {
  appendJobEvents,
  idempotencyKey,
  jobEventSelect,
  requestCancel,
} from "@/lib/jobs/event-log";
import { subscribeJobEvents } from "@/lib/jobs/live";
import {
  accessTokenSchema,
  createJobInputSchema,
  jobResponseSchema,
  isTerminal,
  jobStatusSchema,
  storedJobInputSchema,
} from "@/lib/jobs/schemas";
import { logger } from "@/lib/logger";
import { createTRPCRouter, ownerProcedure, publicProcedure } from "@/lib/trpc/init";

const jobRef = z.object({ id: z.string().max(64), token: accessTokenSchema.nullish() });

const listItemSelect = {
  id: true,
  kind: true,
  status: true,
  title: true,
  progress: true,
  errorMessage: true,
  shareEnabled: true,
  createdAt: true,
  updatedAt: true,
  finishedAt: true,
} as const satisfies Prisma.JobSelect;

const detailSelect = {
  ...listItemSelect,
  input: true,
  result: true,
  errorCode: true,
  notifyEmail: true,
  lastSeq: true,
  startedAt: true,
  sources: {
    orderBy: [{ rank: "asc" }, { createdAt: "asc" }],
    select: {
      id: true,
      ref: true,
      url: true,
      documentId: true,
      title: true,
      snippet: true,
      rank: true,
      read: true,
    },
  },
  citations: { orderBy: { marker: "asc" }, select: { marker: true, sourceId: true, quote: true } },
} as const satisfies Prisma.JobSelect;

/** The event log a page renders before going live; longer logs continue through the subscription. */
const MAX_EVENTS_IN_DETAIL = 2000;
const TEXT_PREVIEW_CHARS = 600;

/** Pasted text can be a megabyte; the page only needs to recognise it. */
function publicInput(raw: unknown) {
  const parsed = storedJobInputSchema.safeParse(raw);
  if (!parsed.success) return null;
  const input = parsed.data;
  if (input.kind === "summarize" && input.source.type === "text") {
    const { text } = input.source;
    return {
      ...input,
      source: { ...input.source, text: text.slice(0, TEXT_PREVIEW_CHARS), length: text.length },
    };
  }
  return input;
}

const cursorSchema = z
  .string()
  .max(200)
  .transform((value, ctx) => {
    const [time, id] = Buffer.from(value, "base64url").toString("utf8").split("|");
    const createdAt = new Date(time ?? "");
    if (!id || Number.isNaN(createdAt.getTime())) {
      ctx.addIssue({ code: "custom", message: "invalid cursor" });
      return z.NEVER;
    }
    return { createdAt, id };
  });

function encodeCursor(job: { createdAt: Date; id: string }): string {
  return Buffer.from(`${job.createdAt.toISOString()}|${job.id}`, "utf8").toString("base64url");
}

export const jobsRouter = createTRPCRouter({
  create: ownerProcedure.input(createJobInputSchema).mutation(async ({ ctx, input }) => {
    return createJob(ctx.ownerId, input, ctx.correlationId);
  }),

  byId: publicProcedure.input(jobRef).query(async ({ ctx, input }) => {
    const { access } = await authorizeJob(ctx, input.id, input.token, "read");
    const job = await ctx.db.job.findUnique({ where: { id: input.id }, select: detailSelect });
    if (!job) throw jobNotFound();
    const events = await ctx.db.jobEvent.findMany({
      where: { jobId: job.id },
      orderBy: { seq: "asc" },
      take: MAX_EVENTS_IN_DETAIL,
      select: jobEventSelect,
    });
    const { notifyEmail, input: rawInput, ...rest } = job;
    return {
      ...rest,
      input: publicInput(rawInput),
      // Only the owner (or the email's recipient) sees the address.
      notifyEmail: access === "share" ? null : notifyEmail,
      events,
      access,
      canAct: access !== "share",
      isOwner: access === "owner",
    };
  }),

  list: ownerProcedure
    .input(
      z.object({
        status: jobStatusSchema.optional(),
        limit: z.number().int().min(1).max(50).default(20),
        cursor: cursorSchema.nullish(),
      }),
    )
    .query(async ({ ctx, input }) => {
      const after = input.cursor;
      const items = await ctx.db.job.findMany({
        where: {
          ownerId: ctx.ownerId,
          ...(input.status ? { status: input.status } : {}),
          ...(after
            ? {
                OR: [
                  { createdAt: { lt: after.createdAt } },
                  { createdAt: after.createdAt, id: { lt: after.id } },
                ],
              }
            : {}),
        },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: input.limit + 1,
        select: listItemSelect,
      });
      const hasMore = items.length > input.limit;
      const page = hasMore ? items.slice(0, input.limit) : items;
      return { items: page, nextCursor: hasMore ? encodeCursor(page[page.length - 1]!) : null };
    }),

  cancel: publicProcedure.input(jobRef).mutation(async ({ ctx, input }) => {
    const { job } = await authorizeJob(ctx, input.id, input.token, "act");
    if (isTerminal(job.status)) return { status: job.status };
    const { status } = await requestCancel(job.id);
    if (status !== "cancelled" && isTerminal(status)) return { status };
    // Sent even when a queued job was cancelled here: its run may already be starting.
    try {
      await jobDispatcher().sendCancelRequested(job);
    } catch (error) {
      logger.error("jobs.cancel_dispatch_failed", {
        jobId: job.id,
        correlationId: job.correlationId,
        error,
      });
      if (status !== "cancelled") {
        throw new TRPCError({
          code: "INTERNAL_SERVER_ERROR",
          message:
            "The cancel request was recorded but the background worker could not be reached. Try again.",
        });
      }
    }
    return { status };
  }),

  respond: publicProcedure
    .input(jobRef.extend({ response: jobResponseSchema }))
    .mutation(async ({ ctx, input }) => {
      const { job } = await authorizeJob(ctx, input.id, input.token, "act");
      if (job.status !== "waiting_for_input") {
        throw new TRPCError({
          code: "CONFLICT",
          message: "This job is not waiting for your input.",
        });
      }
      const request = await ctx.db.jobEvent.findFirst({
        where: { jobId: job.id, type: "input.requested" },
        orderBy: { seq: "desc" },
        select: { seq: true },
      });
      // Keyed by the request it answers, so a double submit records one answer;
      // a retry after a failed send sends the recorded answer again, under the same event id.
      const step = `respond-${request?.seq ?? 0}`;
      const { appended } = await ctx.db.$transaction((tx) =>
        appendJobEvents(tx, job.id, step, [
          { type: "input.provided", data: { ...input.response } },
        ]),
      );
      const recorded =
        appended[0] ??
        (await ctx.db.jobEvent.findUnique({
          where: { idempotencyKey: idempotencyKey(job.id, step, 0) },
          select: { data: true },
        }));
      const response = jobResponseSchema.parse(recorded?.data);
      await jobDispatcher().sendInputProvided(job, response, `${job.id}-${step}`);
      return { recorded: appended.length > 0 };
    }),

  setShare: publicProcedure
    .input(z.object({ id: z.string().max(64), enabled: z.boolean() }))
    .mutation(async ({ ctx, input }) => {
      const { job } = await authorizeJob(ctx, input.id, null, "own");
      const updated = await ctx.db.job.update({
        where: { id: job.id },
        data: { shareEnabled: input.enabled },
        select: { id: true, shareEnabled: true },
      });
      return updated;
    }),

  /**
   * The job's events after `lastEventId` (the seq), stored ones first, then
   * live. Each is `tracked` by its seq, so a reconnecting browser resumes
   * exactly where it stopped.
   */
  events: publicProcedure
    .input(jobRef.extend({ lastEventId: z.string().max(20).nullish() }))
    .subscription(async function* ({ ctx, input, signal }) {
      const { job } = await authorizeJob(ctx, input.id, input.token, "read");
      const afterSeq =
        input.lastEventId && /^\d+$/.test(input.lastEventId) ? Number(input.lastEventId) : 0;
      for await (const event of subscribeJobEvents(job.id, afterSeq, signal)) {
        yield tracked(String(event.seq), event);
      }
    }),
});
