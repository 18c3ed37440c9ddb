/**
 * The shapes at the jobs boundary: what a user may submit, the events a job's
 * log may hold, and what a user may answer when a job needs input. Shared by
 * the tRPC router, the Inngest functions and the forms (no server imports).
 */
import { z } from "zod";
import { safeText } from "@/lib/text";

export const jobKinds = ["research", "summarize"] as const;
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

const researchInputSchema = z.object({
  kind: z.literal("research"),
  question: safeText().trim().min(3, "Ask a question of at least 3 characters").max(2000),
  /** Pause after planning so the user can approve or edit the sub-questions. */
  approvePlan: z.boolean().default(false),
  notifyEmail: notifyEmailSchema.optional(),
  fromChat: fromChatSchema.optional(),
});

const summarizeInputSchema = z.object({
  kind: z.literal("summarize"),
  source: summarizeSourceSchema,
  notifyEmail: notifyEmailSchema.optional(),
  fromChat: fromChatSchema.optional(),
});

export const createJobInputSchema = z.discriminatedUnion("kind", [
  researchInputSchema,
  summarizeInputSchema,
]);
export type CreateJobInput = z.infer<typeof createJobInputSchema>;

/** What is stored in `jobs.input` (the notify address and the chat have their own columns). */
export const storedJobInputSchema = z.discriminatedUnion("kind", [
  researchInputSchema.omit({ notifyEmail: true, fromChat: true }),
  summarizeInputSchema.omit({ notifyEmail: true, fromChat: true }),
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
