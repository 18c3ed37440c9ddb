/**
 * The shapes at the jobs boundary: what a user may submit, the events a job's
 * log may hold, and what a user may answer when a job needs input. Shared by
 * the tRPC router, the Inngest functions and the forms (no server imports).
 */
import { z } from "zod";
import { safeText } from "@/lib/text";

export const jobKinds = ["research", "summarize", "batch"] as const;
export const jobStatuses = [
  "queued",
  "running",
  "waiting_for_input",
  "completed",
  "failed",
  "cancelled",
] as const;
export const jobStatusSchema = z.enum(jobStatuses);
export type JobKind = (typeof jobKinds)[number];
export type JobStatus = z.infer<typeof jobStatusSchema>;

const terminalStatuses: readonly JobStatus[] = ["completed", "failed", "cancelled"];
export const isTerminal = (status: JobStatus) => terminalStatuses.includes(status);

/** Permalink ids: base64url of 18 random bytes (lib/jobs/ids.ts). */
export const jobIdSchema = z.string().regex(/^[A-Za-z0-9_-]{24}$/, "not a job id");

// z.email() refuses whitespace, so CR/LF can never reach a mail header.
const notifyEmailSchema = z.email().max(254);

/**
 * The client's key for one submission: the same key again (a retry after a
 * lost answer, a double click) returns the job the first request created.
 */
export const requestIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{16,64}$/, "A request id is 16 to 64 letters, digits, - or _");

/** A new submission key: 128 random bits in hex (Web Crypto, so in the browser too). */
export function newRequestId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

const MAX_TEXT_CHARS = 1_000_000;

const summarizeSourceSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("url"), url: z.url({ protocol: /^https?$/ }).max(2048) }),
  z.object({
    type: z.literal("text"),
    text: safeText().trim().min(1, "Paste some text to summarize").max(MAX_TEXT_CHARS),
    title: safeText().trim().max(200).optional(),
  }),
  z.object({ type: z.literal("document"), documentId: z.uuid() }),
]);

/** A job started from the chat: its conversation, and the message its card follows. */
const fromChatSchema = z.object({
  conversationId: z.uuid(),
  afterMessageId: safeText().min(1).max(64).nullable(),
});

/** US dollars with at most 6 decimals, as a person types them ("2", "0.50"). */
const budgetSchema = z
  .string()
  .trim()
  .regex(/^\d{1,6}(\.\d{1,6})?$/, "A budget in dollars, e.g. 2.50");

/** A job's limits (lib/jobs/limits.ts): research and batch jobs take them. */
const jobLimitsShape = {
  /** The most the job may spend: a call starts only if its worst-case cost still fits. */
  budget: budgetSchema.optional(),
  /** Minutes from now after which no new work starts (up to 48 hours). */
  deadlineMinutes: z
    .number()
    .int()
    .min(1)
    .max(48 * 60)
    .optional(),
};

const researchInputSchema = z.object({
  kind: z.literal("research"),
  question: safeText().trim().min(3, "Ask a question of at least 3 characters").max(2000),
  /** Pause after planning so the user can approve or edit the sub-questions. */
  approvePlan: z.boolean().default(false),
  /** Condense the sources through the provider's batch API: half price, up to 24 hours. */
  economy: z.boolean().default(false),
  ...jobLimitsShape,
  notifyEmail: notifyEmailSchema.optional(),
  fromChat: fromChatSchema.optional(),
  requestId: requestIdSchema.optional(),
});

const summarizeInputSchema = z.object({
  kind: z.literal("summarize"),
  source: summarizeSourceSchema,
  notifyEmail: notifyEmailSchema.optional(),
  fromChat: fromChatSchema.optional(),
  requestId: requestIdSchema.optional(),
});

/**
 * Batch jobs (issue 15): what one job may hold. A table is read whole in the
 * create request, so its size bounds that request; each text is one model
 * call, so its length bounds the call (about 2,000 tokens).
 */
export const BATCH_LIMITS = {
  maxRows: 10_000,
  maxTableBytes: 10 * 1024 * 1024,
  maxItemChars: 8_000,
  /** Web pages and files are fetched or read one by one: fewer per job. */
  maxSources: 100,
  /** A page or file is summarized from its opening this long (about 6,000 tokens). */
  maxSourceChars: 24_000,
} as const;

/** `now`: live calls, a few at a time; `economy`: the provider's batch API, half price, up to 24 hours. */
export const batchModes = ["now", "economy"] as const;
export type BatchMode = (typeof batchModes)[number];
/** How economy mode retries the items that failed: in a new batch, or live at full price. */
export const batchRetryModes = ["batch", "live"] as const;

const batchTableSchema = z.object({
  type: z.literal("table"),
  format: z.enum(["csv", "jsonl"]),
  fileName: safeText().trim().min(1).max(200),
  content: z
    .string()
    .min(1, "The file is empty")
    .max(BATCH_LIMITS.maxTableBytes, "The file is larger than 10 MB"),
});
const tooManySources = `At most ${BATCH_LIMITS.maxSources} per job`;
const batchUrlsSchema = z.object({
  type: z.literal("urls"),
  urls: z
    .array(z.url({ protocol: /^https?$/ }).max(2048))
    .min(1, "Give at least one URL")
    .max(BATCH_LIMITS.maxSources, tooManySources),
});
const batchDocumentsSchema = z.object({
  type: z.literal("documents"),
  documentIds: z
    .array(z.uuid())
    .min(1, "Upload at least one file")
    .max(BATCH_LIMITS.maxSources, tooManySources),
});

const batchInputSchema = z.object({
  kind: z.literal("batch"),
  mode: z.enum(batchModes),
  retry: z.enum(batchRetryModes).default("batch"),
  source: z.discriminatedUnion("type", [batchTableSchema, batchUrlsSchema, batchDocumentsSchema]),
  ...jobLimitsShape,
  notifyEmail: notifyEmailSchema.optional(),
  fromChat: fromChatSchema.optional(),
  requestId: requestIdSchema.optional(),
});

export const createJobInputSchema = z.discriminatedUnion("kind", [
  researchInputSchema,
  summarizeInputSchema,
  batchInputSchema,
]);
/** What a caller sends (defaults not yet applied); `createJob` parses it. */
export type CreateJobInput = z.input<typeof createJobInputSchema>;

/** What is stored in `jobs.input` (the notify address, the chat and the request id have their own columns). */
export const storedJobInputSchema = z.discriminatedUnion("kind", [
  researchInputSchema.omit({ notifyEmail: true, fromChat: true, requestId: true }),
  summarizeInputSchema.omit({ notifyEmail: true, fromChat: true, requestId: true }),
  // The rows live in batch_items, not in the input.
  z.object({
    kind: z.literal("batch"),
    mode: z.enum(batchModes),
    retry: z.enum(batchRetryModes),
    source: z.discriminatedUnion("type", [
      batchTableSchema.omit({ content: true }).extend({ rows: z.number().int().min(1) }),
      z.object({ type: z.literal("urls"), rows: z.number().int().min(1) }),
      z.object({ type: z.literal("documents"), rows: z.number().int().min(1) }),
    ]),
  }),
]);
export type StoredJobInput = z.infer<typeof storedJobInputSchema>;

/**
 * A job log's event types (not the Inngest events of lib/jobs/events.ts).
 * The UI understands these; others are allowed (any dotted lower-case name)
 * and shown generically in the timeline.
 *
 * - `job.queued` (api), `job.started`, `job.resumed`, `job.completed`, `job.failed` {code, message}, `job.cancelled`
 * - `step.started` / `step.completed` / `step.failed` {label?, message?}: the step is the event's `step`
 * - `progress` {progress 0..1, message?}
 * - `partial` {key, title?, text}: a partial result (e.g. one chunk's summary)
 * - `source.found` / `source.read` {ref, url?, title, rank}
 * - `input.requested` {prompt, plan?}, `input.provided` {action, plan?}
 * - `cancel.requested` (api)
 * - `email.sent` / `email.failed` {message?}: the outcome email (issue 6)
 * - `batch.submitted` {round, items, provider, batchId}, `batch.status` {round, state, total,
 *   done, failed, expectedFinish, expiresAt, stopped?}: a batch job's provider batch;
 *   `batch.items` {done, failed, round?, retrying?}: its items' counts changed (issue 15)
 */
const eventTypeSchema = z
  .string()
  .max(64)
  .regex(/^[a-z][a-z_]*(\.[a-z_]+)*$/, "event types are dotted lower-case names");

export const stepNameSchema = z.string().min(1).max(200);

export const newJobEventSchema = z.object({
  type: eventTypeSchema,
  data: z.record(z.string(), z.unknown()).default({}),
});
export type NewJobEvent = z.input<typeof newJobEventSchema>;

export const jobErrorSchema = z.object({
  code: z
    .string()
    .regex(/^[a-z][a-z0-9_]*$/)
    .max(64),
  message: z.string().min(1).max(2000),
});
export type JobError = z.infer<typeof jobErrorSchema>;

export const jobResponseSchema = z.discriminatedUnion("action", [
  z.object({ action: z.literal("approve") }),
  z.object({
    action: z.literal("edit"),
    plan: z.array(safeText().trim().min(3).max(500)).min(1).max(12),
  }),
]);
export type JobResponse = z.infer<typeof jobResponseSchema>;

/** An email link's access token (lib/jobs/access-token.ts); opaque here. */
export const accessTokenSchema = z.string().max(200);

/** Jobs per page in the list. NOTE: shared by server and client components, so it lives outside any "use client" module. */
export const JOBS_PAGE_SIZE = 20;
