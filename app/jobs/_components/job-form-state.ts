/**
 * The new-job form's state, and the one mapping from it to `jobs.create`'s
 * input. Pure (no React, no fetch), so every state the form can be in is
 * unit-tested: a state that cannot be submitted gives the field errors the
 * server would give, keyed like tRPC's `zodError.fieldErrors`, before any
 * request is made.
 */
import { z } from "zod";
import {
  createJobInputSchema,
  type BatchMode,
  type CreateJobInput,
  type JobKind,
} from "@/lib/jobs/schemas";

export type SummarizeSourceType = "url" | "text" | "file";
export type BatchSourceType = "table" | "urls" | "documents";

/** The summarize kind's file, uploaded to the owner's library before the job is created. */
export type Upload =
  | { state: "idle" }
  | { state: "uploading"; name: string }
  | { state: "done"; documentId: string; title: string }
  | { state: "failed"; message: string };

/** A job's budget and deadline, as typed (research and batch jobs take them). */
export interface LimitsDraft {
  budget: string;
  deadlineMinutes: string;
}

export interface BatchDraft extends LimitsDraft {
  source: BatchSourceType;
  file: { name: string; format: "csv" | "jsonl"; content: string } | null;
  urls: string;
  uploads: { state: "idle" | "uploading" | "done"; documentIds: string[]; names: string[] };
  fileError: string | null;
  mode: BatchMode;
  retry: "batch" | "live";
}

export interface JobFormState {
  kind: JobKind;
  research: { question: string; approvePlan: boolean; economy: boolean } & LimitsDraft;
  summarize: { source: SummarizeSourceType; url: string; text: string; upload: Upload };
  batch: BatchDraft;
  notify: { enabled: boolean; email: string };
}

export const emptyBatchDraft: BatchDraft = {
  source: "table",
  file: null,
  urls: "",
  uploads: { state: "idle", documentIds: [], names: [] },
  fileError: null,
  mode: "economy",
  retry: "batch",
  budget: "",
  deadlineMinutes: "",
};

/** `rememberedEmail`: the address this owner gave last time, offered again. */
export function initialJobFormState(rememberedEmail: string | null): JobFormState {
  return {
    kind: "research",
    research: { question: "", approvePlan: false, economy: false, budget: "", deadlineMinutes: "" },
    summarize: { source: "url", url: "", text: "", upload: { state: "idle" } },
    batch: emptyBatchDraft,
    notify: { enabled: false, email: rememberedEmail ?? "" },
  };
}

/** Messages per top-level input field, as the server's `zodError.fieldErrors` has them. */
export type FieldErrors = Partial<Record<string, string[]>>;

export type FormResult =
  { ok: true; input: CreateJobInput } | { ok: false; fieldErrors: FieldErrors };

type BatchSource = Extract<CreateJobInput, { kind: "batch" }>["source"];
type SummarizeSource = Extract<CreateJobInput, { kind: "summarize" }>["source"];

/** The source the batch draft describes, or the reason it has none yet. */
export function batchSourceOf(draft: BatchDraft): BatchSource | { missing: string } {
  if (draft.source === "table") {
    if (!draft.file) return { missing: draft.fileError ?? "Choose a CSV or JSONL file." };
    return {
      type: "table",
      format: draft.file.format,
      fileName: draft.file.name,
      content: draft.file.content,
    };
  }
  if (draft.source === "urls") {
    const urls = draft.urls
      .split(/\s+/)
      .map((url) => url.trim())
      .filter(Boolean);
    return urls.length > 0 ? { type: "urls", urls } : { missing: "Give at least one URL." };
  }
  if (draft.uploads.state === "uploading") return { missing: "The files are still uploading." };
  return draft.uploads.state === "done" && draft.uploads.documentIds.length > 0
    ? { type: "documents", documentIds: draft.uploads.documentIds }
    : { missing: draft.fileError ?? "Upload at least one file." };
}

function summarizeSourceOf(
  state: JobFormState["summarize"],
): SummarizeSource | { missing: string } {
  if (state.source === "url") return { type: "url", url: state.url.trim() };
  if (state.source === "text") return { type: "text", text: state.text };
  if (state.upload.state === "done")
    return { type: "document", documentId: state.upload.documentId };
  if (state.upload.state === "uploading") return { missing: "The file is still uploading." };
  return { missing: "Choose a file to upload." };
}

/** Whether the submit button may be pressed: a source still missing keeps it disabled. */
export function readyToSubmit(state: JobFormState): boolean {
  if (state.kind === "summarize") return !("missing" in summarizeSourceOf(state.summarize));
  if (state.kind === "batch") return !("missing" in batchSourceOf(state.batch));
  return true;
}

/** The limits as the server takes them: an empty field is no limit. */
function limitsOf(draft: LimitsDraft): { budget?: string; deadlineMinutes?: number } {
  const deadline = draft.deadlineMinutes.trim();
  return {
    budget: draft.budget.trim() || undefined,
    deadlineMinutes: deadline ? Number(deadline) : undefined,
  };
}

/**
 * The `jobs.create` input the form's state describes, or why it cannot be
 * sent. The input goes as typed (the server trims and applies defaults); it is
 * checked here against the same schema the server parses it with.
 */
export function toCreateJobInput(state: JobFormState): FormResult {
  const email = state.notify.email.trim();
  if (state.notify.enabled && !email)
    return { ok: false, fieldErrors: { notifyEmail: ["Enter the address to email."] } };
  const notifyEmail = state.notify.enabled ? email : undefined;
  let input: CreateJobInput;
  if (state.kind === "research") {
    const { question, approvePlan, economy } = state.research;
    input = {
      kind: "research",
      question,
      approvePlan,
      economy,
      ...limitsOf(state.research),
      notifyEmail,
    };
  } else if (state.kind === "summarize") {
    const source = summarizeSourceOf(state.summarize);
    if ("missing" in source) return { ok: false, fieldErrors: { source: [source.missing] } };
    input = { kind: "summarize", source, notifyEmail };
  } else {
    const { batch } = state;
    const source = batchSourceOf(batch);
    if ("missing" in source) return { ok: false, fieldErrors: { source: [source.missing] } };
    input = {
      kind: "batch",
      mode: batch.mode,
      retry: batch.retry,
      source,
      ...limitsOf(batch),
      notifyEmail,
    };
  }
  const checked = createJobInputSchema.safeParse(input);
  if (!checked.success)
    return { ok: false, fieldErrors: z.flattenError(checked.error).fieldErrors };
  return { ok: true, input };
}
