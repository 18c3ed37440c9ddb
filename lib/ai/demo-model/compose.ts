/**
 * What the offline demo model says. It reads the conversation in the prompt
 * format of `lib/ai/prompts.ts` and answers deterministically: an extractive
 * summary, an answer composed from cited passages, a research plan, the rest
 * of a cut-off answer, or else a short note on what it is and how to
 * configure a real model.
 */
import {
  extractDocument,
  extractQuestion,
  parsePassages,
  parseTaskLine,
  requestedCount,
  type Passage,
} from "@/lib/ai/prompts";
import { stripMarkers } from "@/lib/ai/demo-model/directives";
import { planSubQuestions } from "@/lib/ai/demo-model/plan";
import { isStopword, splitSentences, terms } from "@/lib/ai/demo-model/text";
import { defaultSummaryLength, summarize } from "@/lib/ai/demo-model/textrank";

export type DemoRole = "system" | "user" | "assistant" | "tool";

export interface DemoMessage {
  role: DemoRole;
  content: string;
}

export type DemoTask =
  "summarize" | "answer-with-sources" | "plan-sub-questions" | "continue" | "chat";

export interface DemoReply {
  task: DemoTask;
  text: string;
}

const SUMMARY_REQUEST = /^\s*(?:please\s+)?(?:summari[sz]e|tl;?dr)\b[^:\n]*:?\s*/i;
const PLAN_REQUEST = /\bsub-?questions?\b/i;
const MAX_ANSWER_SENTENCES = 3;
/**
 * Words that end a key phrase besides stopwords: question auxiliaries and
 * the verbs questions are usually built around ("how does X affect Y").
 */
const PHRASE_BREAKERS = new Set(
  "does do did done doing is are was were be been can could should would will shall may might must how what why which when where who whom whose affect affects impact impacts influence work works use uses used using make makes handle handles compare compares differ differs improve improves help helps need needs mean means cause causes change changes get gets best better vs versus hi hello hey please thanks thank tell explain describe".split(
    " ",
  ),
);
const DEFAULT_SUB_QUESTIONS = 3;

export function composeReply(input: readonly DemoMessage[]): DemoReply {
  const messages = input.map((message) => ({
    role: message.role,
    content: stripMarkers(message.content),
  }));
  const last = messages.at(-1);
  if (!last) return { task: "chat", text: chatReply("") };

  // A trailing assistant message is a prefill: continue it.
  if (last.role === "assistant") return continueReply(messages.slice(0, -1), last.content);

  const lastUserIndex = messages.findLastIndex((message) => message.role === "user");
  const user = messages[lastUserIndex]?.content ?? "";
  const system = messages
    .filter((message) => message.role === "system")
    .map((message) => message.content)
    .join("\n\n");
  const task = parseTaskLine(user) ?? parseTaskLine(system);

  if (task === "continue") {
    const partialIndex = messages.findLastIndex(
      (message, i) => i < lastUserIndex && message.role === "assistant",
    );
    if (partialIndex !== -1) {
      return continueReply(messages.slice(0, partialIndex), messages[partialIndex]!.content);
    }
  }
  if (task === "summarize" || SUMMARY_REQUEST.test(user)) {
    return {
      task: "summarize",
      text: summaryReply(system, user, messages.slice(0, lastUserIndex)),
    };
  }
  const passages = parsePassages(`${system}\n\n${user}`);
  if (task === "answer-with-sources" || passages.size > 0) {
    const question =
      extractQuestion(user) ??
      user.replace(/^\[\d{1,3}\][\s\S]*?(?=\n\s*\n|$(?![\s\S]))/gm, "").trim();
    return { task: "answer-with-sources", text: answerReply(question, passages) };
  }
  if (task === "plan-sub-questions" || PLAN_REQUEST.test(system)) {
    const count = requestedCount(system, "sub-questions") ?? requestedCount(user, "sub-questions");
    return { task: "plan-sub-questions", text: planReply(user, count ?? DEFAULT_SUB_QUESTIONS) };
  }
  return { task: "chat", text: chatReply(user) };
}

function summaryReply(system: string, user: string, earlier: readonly DemoMessage[]): string {
  let text = extractDocument(user) ?? extractDocument(system) ?? user.replace(SUMMARY_REQUEST, "");
  // "Summarize this conversation": nothing pasted, so summarise what came before.
  if (splitSentences(text).length < 2) {
    const history = earlier
      .filter((message) => message.role === "user" || message.role === "assistant")
      .map((message) => message.content)
      .join("\n\n");
    if (splitSentences(history).length >= 2) text = history;
  }
  const sentences = splitSentences(text);
  if (sentences.length === 0) {
    return "There is no text to summarize yet. Paste it after `Summarize:` (or between `<document>` tags) and I will pick its most central sentences.";
  }
  const count =
    requestedCount(`${system}\n${user}`, "sentences") ?? defaultSummaryLength(sentences.length);
  return summarize(text, count)
    .map((sentence) => sentence.text)
    .join(" ");
}

/**
 * Ranks every sentence of every passage against the question with BM25 and
 * answers with the best few, each followed by the citation of its passage.
 */
function answerReply(question: string, passages: ReadonlyMap<number, Passage>): string {
  if (passages.size === 0) {
    return "I was asked to answer from passages, but none were given. Passages look like `[1] text`, one per paragraph.";
  }
  const candidates = [...passages].flatMap(([number, { text }]) =>
    splitSentences(text).map((sentence) => ({ number, sentence, terms: terms(sentence) })),
  );
  const questionTerms = [...new Set(terms(question))];
  const documentFrequency = new Map<string, number>();
  for (const candidate of candidates) {
    for (const term of new Set(candidate.terms))
      documentFrequency.set(term, (documentFrequency.get(term) ?? 0) + 1);
  }
  const averageLength =
    candidates.reduce((sum, c) => sum + c.terms.length, 0) / Math.max(candidates.length, 1);
  const k1 = 1.2;
  const b = 0.75;
  const scored = candidates.map((candidate, position) => {
    let score = 0;
    for (const term of questionTerms) {
      const tf = candidate.terms.filter((t) => t === term).length;
      if (tf === 0) continue;
      const df = documentFrequency.get(term) ?? 0;
      const idf = Math.log(1 + (candidates.length - df + 0.5) / (df + 0.5));
      score +=
        (idf * tf * (k1 + 1)) /
        (tf + k1 * (1 - b + (b * candidate.terms.length) / (averageLength || 1)));
    }
    return { ...candidate, position, score };
  });
  const best = scored
    .filter((candidate) => candidate.score > 0)
    .sort((x, y) => y.score - x.score || x.position - y.position)
    .slice(0, MAX_ANSWER_SENTENCES)
    .sort((x, y) => x.number - y.number || x.position - y.position);
  if (best.length === 0) {
    const numbers = [...passages.keys()].map((n) => `[${n}]`).join(", ");
    return `The passages given (${numbers}) do not appear to answer this question.`;
  }
  return best.map((candidate) => cite(candidate.sentence, candidate.number)).join(" ");
}

/** Puts the citation before the sentence's closing punctuation: "… bloat [2]." */
function cite(sentence: string, passage: number): string {
  const match = /([.!?…]+["'”’)\]]*)$/.exec(sentence);
  return match
    ? `${sentence.slice(0, match.index).trimEnd()} [${passage}]${match[1]}`
    : `${sentence} [${passage}]`;
}

/** Runs of adjacent content words, in order, e.g. "connection pooling", "PgBouncer". */
export function keyPhrases(text: string): string[] {
  const phrases: string[] = [];
  const segmenter = new Intl.Segmenter("en", { granularity: "word" });
  let run: string[] = [];
  const flush = () => {
    const phrase = run.join(" ");
    if (phrase && !phrases.some((p) => p.toLowerCase() === phrase.toLowerCase()))
      phrases.push(phrase);
    run = [];
  };
  let pendingJoiner = "";
  for (const { segment, isWordLike } of segmenter.segment(text)) {
    if (isWordLike) {
      if (
        isStopword(segment) ||
        PHRASE_BREAKERS.has(segment.toLowerCase()) ||
        /^\d+$/.test(segment)
      ) {
        flush();
      } else if (pendingJoiner && run.length > 0) {
        run[run.length - 1] += pendingJoiner + segment;
      } else {
        run.push(segment);
      }
      pendingJoiner = "";
    } else if (/^[-/.]$/.test(segment)) {
      // Keep "trade-offs", "pg_dump", "v1.2" as one word.
      pendingJoiner = segment;
    } else if (/^\s+$/.test(segment)) {
      pendingJoiner = "";
    } else {
      flush();
      pendingJoiner = "";
    }
  }
  flush();
  return phrases;
}

function planReply(question: string, count: number): string {
  const cleaned = question.replace(/\s+/g, " ").trim();
  const fallbackTopic = keyPhrases(cleaned)[0] ?? (cleaned.replace(/[?.!]+$/, "") || "the topic");
  return planSubQuestions(cleaned, count, fallbackTopic)
    .map((subQuestion, i) => `${i + 1}. ${subQuestion}`)
    .join("\n");
}

/**
 * The rest of an answer that was cut off. The demo model is deterministic,
 * so it recomputes the answer it gave to the same conversation and returns
 * what comes after the partial text, never repeating it.
 */
function continueReply(history: readonly DemoMessage[], partial: string): DemoReply {
  const full = history.length > 0 ? composeReply(history).text : "";
  return { task: "continue", text: remainderAfter(full, partial) };
}

export function remainderAfter(full: string, partial: string): string {
  if (full.startsWith(partial)) return full.slice(partial.length);
  const trimmed = partial.trimEnd();
  if (trimmed && full.startsWith(trimmed)) return full.slice(trimmed.length);
  // The partial came from elsewhere (another model, an edited message):
  // resume after its last words if they occur in the full answer.
  for (const length of [40, 24, 12]) {
    const tail = trimmed.slice(-length);
    const at = tail.length === length ? full.lastIndexOf(tail) : -1;
    if (at !== -1) return full.slice(at + tail.length);
  }
  const unsaid = splitSentences(full).filter((sentence) => !partial.includes(sentence));
  if (unsaid.length > 0) return `${/\s$/.test(partial) || !partial ? "" : " "}${unsaid.join(" ")}`;
  return "";
}

function chatReply(user: string): string {
  const topics = keyPhrases(user).slice(0, 3);
  const about =
    topics.length > 0
      ? `You wrote about ${topics.map((topic) => `**${topic}**`).join(", ")}, but I can't reason about it: I only show how Dispatch streams, stops and recovers.`
      : "I can't hold a real conversation: I only show how Dispatch streams, stops and recovers.";
  return [
    `**This is Dispatch's offline demo model**, running on this machine with no language model behind it. ${about}`,
    "",
    "What I can do offline:",
    "- **Summarize**: start a message with `Summarize:` and paste some text; I pick its most central sentences (TextRank).",
    "- **Answer from passages**: give numbered passages (`[1] …`) and a `Question:` line; I answer from them and cite them like [1].",
    "",
    "To use a real model, set one of these in `.env` and restart `npm run dev`:",
    "- `OPENAI_API_KEY` for OpenAI",
    "- `ANTHROPIC_API_KEY` for Anthropic",
    "- `OPENAI_COMPATIBLE_BASE_URL` and `AI_MODEL` for Ollama, vLLM, llama.cpp or any OpenAI-compatible server",
  ].join("\n");
}
