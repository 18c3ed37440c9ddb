/**
 * Chat slash commands that start background jobs instead of a chat turn:
 * `/research <question>` and `/summarize <url or text>`.
 */
import { createJobInputSchema, type CreateJobInput } from "@/lib/jobs/schemas";

export type JobCommand = { ok: true; input: CreateJobInput } | { ok: false; message: string };

const COMMAND = /^\/(research|summarize|summarise)(?:\s+([\s\S]*))?$/i;

/** The job a message asks for, null when it is an ordinary message. */
export function parseJobCommand(message: string): JobCommand | null {
  const match = COMMAND.exec(message.trim());
  if (!match) return null;
  const rest = (match[2] ?? "").trim();
  const kind = match[1]!.toLowerCase() === "research" ? "research" : "summarize";
  if (!rest) {
    return {
      ok: false,
      message:
        kind === "research"
          ? "Write your question after /research."
          : "Give a URL or paste text after /summarize.",
    };
  }
  return jobInputFor(kind, rest);
}

/** A job from the composer's text, as the buttons beside it start one. */
export function jobInputFor(kind: "research" | "summarize", text: string): JobCommand {
  const trimmed = text.trim();
  const candidate: CreateJobInput =
    kind === "research"
      ? { kind, question: trimmed, approvePlan: false }
      : /^https?:\/\/\S+$/i.test(trimmed) && URL.canParse(trimmed)
        ? { kind, source: { type: "url", url: trimmed } }
        : { kind, source: { type: "text", text: trimmed } };
  const parsed = createJobInputSchema.safeParse(candidate);
  if (!parsed.success)
    return { ok: false, message: parsed.error.issues[0]?.message ?? "That cannot start a job." };
  return { ok: true, input: parsed.data };
}
