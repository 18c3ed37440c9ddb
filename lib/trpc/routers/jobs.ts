/**
 * Jobs: start them, read them, act on them, and follow their event log live.
 * Access is decided by `jobProcedure` (lib/trpc/init.ts, lib/jobs/access.ts);
 * everything a caller may not see is NOT_FOUND, in queries, mutations and the
 * subscription alike. What the actions do lives in lib/jobs/.
 */
import { tracked } from "@trpc/server";
import { z } from "zod";
import type { Prisma } from "@/lib/generated/prisma/client";
import { DomainError } from "@/lib/errors";
import { itemCounts } from "@/lib/jobs/batch/items";
import { cancelJob } from "@/lib/jobs/cancel";
import { jobCost, jobCosts } from "@/lib/jobs/cost";
import { createJob } from "@/lib/jobs/create";
import { jobEventSelect } from "@/lib/jobs/event-log";
import { subscribeJobEvents } from "@/lib/jobs/live";
import { respondToJob } from "@/lib/jobs/respond";
import {
  createJobInputSchema,
  jobIdSchema,
  jobResponseSchema,
  jobStatusSchema,
  storedJobInputSchema,
} from "@/lib/jobs/schemas";
import { createTRPCRouter, jobProcedure, ownerProcedure } from "@/lib/trpc/init";

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
  budgetMicros: true,
  deadlineAt: true,
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

const batchItemSelect = {
  position: true,
  label: true,
  status: true,
  summary: true,
  errorMessage: true,
  mode: true,
} as const satisfies Prisma.BatchItemSelect;

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
    // NOTE: the id goes into a query, so it must be a job id, not any decoded bytes (a NUL is a 500 in Postgres).
    if (!jobIdSchema.safeParse(id).success || Number.isNaN(createdAt.getTime())) {
      ctx.addIssue({ code: "custom", message: "invalid cursor" });
      return z.NEVER;
    }
    return { createdAt, id: id! };
  });

function encodeCursor(job: { createdAt: Date; id: string }): string {
  return Buffer.from(`${job.createdAt.toISOString()}|${job.id}`, "utf8").toString("base64url");
}

export const jobsRouter = createTRPCRouter({
  create: ownerProcedure.input(createJobInputSchema).mutation(async ({ ctx, input }) => {
    return createJob(ctx.ownerId, input, ctx.correlationId);
  }),

  byId: jobProcedure("read").query(async ({ ctx }) => {
    const { access } = ctx;
    const job = await ctx.db.job.findUnique({ where: { id: ctx.job.id }, select: detailSelect });
    // Deleted between the access check and this read.
    if (!job) throw new DomainError("job_not_found");
    const events = await ctx.db.jobEvent.findMany({
      where: { jobId: job.id },
      orderBy: { seq: "asc" },
      take: MAX_EVENTS_IN_DETAIL,
      select: jobEventSelect,
    });
    const { notifyEmail, input: rawInput, budgetMicros, ...rest } = job;
    const [cost, items] = await Promise.all([
      jobCost(job.id),
      job.kind === "batch" ? itemCounts(job.id) : null,
    ]);
    return {
      ...rest,
      budgetMicros: budgetMicros === null ? null : Number(budgetMicros),
      cost,
      items,
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
      const costs = await jobCosts(page.map((job) => job.id));
      return {
        items: page.map((job) => ({ ...job, costMicros: costs.get(job.id)?.micros ?? 0 })),
        nextCursor: hasMore ? encodeCursor(page[page.length - 1]!) : null,
      };
    }),

  /** A batch job's items in position order, a page at a time (`cursor`: the last position seen). */
  items: jobProcedure("read")
    .input(
      z.object({
        cursor: z.number().int().min(0).nullish(),
        limit: z.number().int().min(1).max(200).default(50),
      }),
    )
    .query(async ({ ctx, input }) => {
      const items = await ctx.db.batchItem.findMany({
        where: { jobId: ctx.job.id, position: { gt: input.cursor ?? 0 } },
        orderBy: { position: "asc" },
        take: input.limit + 1,
        select: batchItemSelect,
      });
      const hasMore = items.length > input.limit;
      const page = hasMore ? items.slice(0, input.limit) : items;
      return { items: page, nextCursor: hasMore ? page.at(-1)!.position : null };
    }),

  cancel: jobProcedure("act").mutation(({ ctx }) => cancelJob(ctx.job)),

  respond: jobProcedure("act")
    .input(z.object({ response: jobResponseSchema }))
    .mutation(({ ctx, input }) => respondToJob(ctx.job, input.response)),

  setShare: jobProcedure("own")
    .input(z.object({ enabled: z.boolean() }))
    .mutation(({ ctx, input }) =>
      ctx.db.job.update({
        where: { id: ctx.job.id },
        data: { shareEnabled: input.enabled },
        select: { id: true, shareEnabled: true },
      }),
    ),

  /**
   * The job's events after `lastEventId` (the seq), stored ones first, then
   * live. Each is `tracked` by its seq, so a reconnecting browser resumes
   * exactly where it stopped.
   */
  events: jobProcedure("read")
    .input(z.object({ lastEventId: z.string().max(20).nullish() }))
    .subscription(async function* ({ ctx, input, signal }) {
      const { job } = ctx;
      const afterSeq =
        input.lastEventId && /^\d+$/.test(input.lastEventId) ? Number(input.lastEventId) : 0;
      for await (const event of subscribeJobEvents(job.id, afterSeq, signal)) {
        yield tracked(String(event.seq), event);
      }
    }),
});
