/**
 * The prompts Dispatch sends for each task, in one documented format that
 * real models read as plain instructions and the offline demo model parses
 * to decide what to do. Callers build messages here instead of writing
 * prompt text inline, so the demo model keeps recognising them.
 *
 * Format:
 * - The system prompt opens with a task line, `Task: <task>.`, where task is
 *   one of {@link PROMPT_TASKS}.
 * - Text to summarise sits between `<document>` and `</document>`.
 * - Context passages are numbered blocks, `[1] text`, separated by blank
 *   lines, after a `Passages:` line; the question follows on a `Question:`
 *   line. Answers cite passages inline as `[1]`, `[2]`.
 * - Plans are numbered lists, one sub-question per line.
 * - Continue: the partial answer as the last assistant message, then a user
 *   message holding {@link CONTINUE_INSTRUCTION}.
 */
import type { ModelMessage } from "ai";

export const PROMPT_TASKS = [
  "summarize",
  "answer-with-sources",
  "plan-sub-questions",
  "continue",
] as const;
export type PromptTask = (typeof PROMPT_TASKS)[number];

const TASK_LINE = /^\s*Task:\s*([a-z-]+)\.?\s*$/im;

/** The machine-readable first line of a task's system message. */
export function taskLine(task: PromptTask): string {
  return `Task: ${task}.`;
}

/** The task a message declares with its task line, if any. */
export function parseTaskLine(text: string): PromptTask | undefined {
  const name = TASK_LINE.exec(text)?.[1];
  return PROMPT_TASKS.find((task) => task === name);
}

/**
 * A task's prompt, shaped to spread into `generateText` / `streamText`:
 * `streamText({ model, ...summarizePrompt({ text }) })`. The system prompt
 * travels in `instructions` (AI SDK 7 rejects system messages in `messages`).
 */
export interface TaskPrompt {
  instructions: string;
  messages: ModelMessage[];
}

export const DOCUMENT_OPEN = "<document>";
export const DOCUMENT_CLOSE = "</document>";

export function summarizePrompt(input: { text: string; maxSentences?: number }): TaskPrompt {
  const length = input.maxSentences
    ? `Reply with at most ${input.maxSentences} sentences.`
    : "Keep it short: a few sentences.";
  return {
    instructions: [
      taskLine("summarize"),
      "Summarize the document the user gives you. Keep its key facts and its wording where you can; add nothing that is not in it.",
      length,
    ].join("\n"),
    messages: [{ role: "user", content: `${DOCUMENT_OPEN}\n${input.text}\n${DOCUMENT_CLOSE}` }],
  };
}

/** The text between the first `<document>` and its `</document>`, if any. */
export function extractDocument(text: string): string | undefined {
  const start = text.indexOf(DOCUMENT_OPEN);
  if (start === -1) return undefined;
  const end = text.indexOf(DOCUMENT_CLOSE, start);
  return text.slice(start + DOCUMENT_OPEN.length, end === -1 ? undefined : end).trim();
}

/** The "at most N sentences" (or "N sub-questions") count a prompt asks for. */
export function requestedCount(
  text: string,
  unit: "sentences" | "sub-questions",
): number | undefined {
  const match = new RegExp(`(?:at most|up to|exactly|in)?\\s*(\\d{1,2})\\s+${unit}`, "i").exec(
    text,
  );
  const count = match ? Number(match[1]) : NaN;
  return Number.isInteger(count) && count > 0 ? count : undefined;
}

export interface Passage {
  text: string;
  /** Shown before the text, e.g. a document title. */
  title?: string;
}

/** Numbered passages, `[1] (Title) text`, one block each, separated by blank lines. */
export function formatPassages(passages: readonly Passage[]): string {
  return passages
    .map((passage, i) => {
      const body = passage.text.replace(/\s*\n\s*\n\s*/g, "\n").trim();
      const title = passage.title?.replace(/[()\s]+/g, " ").trim();
      return `[${i + 1}] ${title ? `(${title}) ` : ""}${body}`;
    })
    .join("\n\n");
}

/** Passages by number, parsed back from {@link formatPassages}' format. */
export function parsePassages(text: string): Map<number, Passage> {
  const passages = new Map<number, Passage>();
  const pattern = /^\[(\d{1,3})\]\s+([\s\S]*?)(?=\n\s*\n|\n\[\d{1,3}\]\s|$(?![\s\S]))/gm;
  for (const match of text.matchAll(pattern)) {
    const number = Number(match[1]);
    const titled = /^\(([^()\n]+)\)\s+([\s\S]+)$/.exec(match[2]!.trim());
    const body = (titled ? titled[2]! : match[2]!).trim();
    if (body && !passages.has(number))
      passages.set(number, titled ? { title: titled[1]!, text: body } : { text: body });
  }
  return passages;
}

export function answerWithSourcesPrompt(input: {
  question: string;
  passages: readonly Passage[];
}): TaskPrompt {
  return {
    instructions: [
      taskLine("answer-with-sources"),
      "Answer the question using only the numbered passages. Cite the passages you use inline as [1], [2].",
      "If the passages do not answer the question, say so.",
    ].join("\n"),
    messages: [
      {
        role: "user",
        content: `Passages:\n${formatPassages(input.passages)}\n\nQuestion: ${input.question}`,
      },
    ],
  };
}

/** The text of the `Question:` line (and what follows it), if present. */
export function extractQuestion(text: string): string | undefined {
  const match = /^Question:\s*([\s\S]+)$/m.exec(text);
  return match?.[1]?.trim() || undefined;
}

/** The passage numbers an answer cites, in order of first citation. */
export function parseCitations(text: string): number[] {
  const cited: number[] = [];
  for (const match of text.matchAll(/\[(\d{1,3})\]/g)) {
    const number = Number(match[1]);
    if (!cited.includes(number)) cited.push(number);
  }
  return cited;
}

export function planSubQuestionsPrompt(input: { question: string; count?: number }): TaskPrompt {
  const count = input.count ?? 3;
  return {
    instructions: [
      taskLine("plan-sub-questions"),
      `Break the user's research question into ${count} sub-questions that together answer it.`,
      "Reply with a numbered list, one sub-question per line, and nothing else.",
    ].join("\n"),
    messages: [{ role: "user", content: input.question }],
  };
}

/** Sub-questions from a numbered (or bulleted) list reply. */
export function parseSubQuestions(text: string): string[] {
  const items: string[] = [];
  for (const line of text.split("\n")) {
    const match = /^\s*(?:\d{1,2}[.)]|[-*+])\s+(.+?)\s*$/.exec(line);
    if (match) items.push(match[1]!.replace(/^\*\*(.+)\*\*$/, "$1"));
  }
  return items;
}

export const CONTINUE_INSTRUCTION = [
  taskLine("continue"),
  "Your previous answer was cut off. Continue it exactly where it stopped, without repeating any of it: start with the very next characters.",
].join("\n");

/** The conversation to send for Continue: history, the partial answer, the instruction. */
export function continueMessages(
  history: readonly ModelMessage[],
  partialAnswer: string,
): ModelMessage[] {
  return [
    ...history,
    { role: "assistant", content: partialAnswer },
    { role: "user", content: CONTINUE_INSTRUCTION },
  ];
}
