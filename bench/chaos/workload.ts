/**
 * What a chaos run asks of the app, through its real HTTP APIs as a browser
 * would: `jobs.create` over tRPC (superjson over HTTP, with an owner cookie)
 * and chat turns as `useChat` sends them (`POST /api/chat`, read to the end
 * of the UI message stream), plus Stop (`chat.stop`) and Continue. The plan
 * (texts, model fault directives, when each request starts) comes from the
 * seed; requests that meet a dead app are retried until it is back.
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { Random } from "./random";

const TOPICS = [
  ["vacuum", "VACUUM reclaims storage occupied by dead tuples and updates the visibility map"],
  ["mvcc", "multiversion concurrency control gives every transaction a snapshot of the data"],
  ["wal", "the write-ahead log records every change before the data files are written"],
  ["indexes", "a B-tree index keeps keys sorted so that equality and range lookups are fast"],
  ["replication", "streaming replication ships write-ahead log records to standby servers"],
  ["locking", "row-level locks are taken by UPDATE and DELETE and held until the transaction ends"],
] as const;

const CLAUSES = [
  "which matters most when the workload is write-heavy",
  "so operators watch it closely on busy systems",
  "and the documentation explains the trade-offs in detail",
  "because long-running transactions can hold it back",
  "while checkpoints bound how much work crash recovery must replay",
  "and autovacuum tunes itself from the table statistics",
  "so that readers never block writers and writers never block readers",
  "although each setting has a cost in memory or disk",
];

/** A deterministic paragraph about one topic, `sentences` long. */
function paragraph(random: Random, topic: number, sentences: number): string {
  const [, fact] = TOPICS[topic % TOPICS.length]!;
  return Array.from({ length: sentences }, (_, i) => {
    const clause = random.pick(CLAUSES);
    const subject = i === 0 ? fact.charAt(0).toUpperCase() + fact.slice(1) : `In practice, ${fact}`;
    return `${subject}, ${clause}.`;
  }).join(" ");
}

/** The shared documents research searches (the chaos database starts empty). */
export function corpusDocuments(random: Random): Array<{ title: string; text: string }> {
  return TOPICS.map(([name], topic) => ({
    title: `PostgreSQL ${name} (chaos corpus)`,
    text: Array.from({ length: 6 }, () => paragraph(random, topic, 5)).join("\n\n"),
  }));
}

export type Phase = "baseline" | "chaos";

/** Pace markers the demo model strips: answers long enough to be cut, stopped and killed mid-stream. */
const CHAT_PACE = "[[demo:tps=60]]";

const JOB_MODEL_FAULTS = [
  "[[demo:fail-500-times=2]]",
  "[[demo:fail-429 retry-after=1 times=1]]",
  "[[demo:drop-after=4 times=1]]",
] as const;
const CHAT_MODEL_FAULTS = [
  "[[demo:fail-500-times=1]]",
  "[[demo:fail-429 retry-after=1 times=1]]",
  "[[demo:drop-after=12]]",
] as const;

export interface JobSpec {
  phase: Phase;
  index: number;
  owner: number;
  startAtMs: number;
  modelFault: string | null;
  input:
    | { kind: "research"; question: string; notifyEmail: string; requestId: string }
    | {
        kind: "summarize";
        source: { type: "text"; text: string; title: string };
        notifyEmail: string;
        requestId: string;
      };
}

export interface ChatSpec {
  phase: Phase;
  index: number;
  owner: number;
  startAtMs: number;
  /** One of a few prompts: every answer to it must be the same text, or a prefix of it. */
  prompt: string;
  modelFault: string | null;
  stopAfterMs: number | null;
  /** Send Continue when the answer ends interrupted. */
  continueIfInterrupted: boolean;
}

export const CHAT_PROMPTS = 4;
const OWNERS = 6;

export function planWorkload(
  random: Random,
  options: { phase: Phase; jobs: number; chats: number; windowMs: number; modelFaults: number },
): { jobs: JobSpec[]; chats: ChatSpec[] } {
  const texts = random.fork("prompts");
  const chatPrompts = Array.from(
    { length: CHAT_PROMPTS },
    (_, i) => `Summarize: ${paragraph(texts, i, 12)}`,
  );
  const faulty = (list: readonly string[]) =>
    options.phase === "chaos" && random.chance(options.modelFaults) ? random.pick(list) : null;
  const jobs = Array.from({ length: options.jobs }, (_, index): JobSpec => {
    const modelFault = faulty(JOB_MODEL_FAULTS);
    const topic = random.int(0, TOPICS.length - 1);
    const notifyEmail = `chaos-${options.phase}-${index}@example.test`;
    // Sent with every attempt: a retry after a lost answer is the same submission.
    const requestId = `chaos-${options.phase}-${String(index).padStart(6, "0")}`;
    const startAtMs = Math.round(random.next() * options.windowMs);
    const base = {
      phase: options.phase,
      index,
      owner: random.int(0, OWNERS - 1),
      startAtMs,
      modelFault,
    };
    if (random.chance(0.5)) {
      const question = `How does ${TOPICS[topic]![0]} work in PostgreSQL, and what should operators watch?`;
      return {
        ...base,
        input: {
          kind: "research",
          question: `${question} ${modelFault ?? ""}`.trim(),
          notifyEmail,
          requestId,
        },
      };
    }
    // 1 to 3 parts of about 6,000 characters (inngest/functions/summarize-document.ts).
    const paragraphs = Array.from({ length: random.int(8, 36) }, () => paragraph(random, topic, 4));
    if (modelFault) paragraphs[0] = `${paragraphs[0]} ${modelFault}`;
    const text = paragraphs.join("\n\n");
    return {
      ...base,
      input: {
        kind: "summarize",
        source: { type: "text", text, title: `Chaos ${options.phase} ${index}` },
        notifyEmail,
        requestId,
      },
    };
  });
  const chats = Array.from({ length: options.chats }, (_, index): ChatSpec => {
    const modelFault = faulty(CHAT_MODEL_FAULTS);
    const stop = options.phase === "chaos" && !modelFault && random.chance(0.2);
    return {
      phase: options.phase,
      index,
      owner: random.int(0, OWNERS - 1),
      startAtMs: Math.round(random.next() * options.windowMs),
      // The baseline asks every prompt at least once, so each has a complete answer to compare with.
      prompt:
        chatPrompts[
          options.phase === "baseline" ? index % CHAT_PROMPTS : random.int(0, CHAT_PROMPTS - 1)
        ]!,
      modelFault,
      stopAfterMs: stop ? random.int(200, 1200) : null,
      continueIfInterrupted: random.chance(0.5),
    };
  });
  return { jobs, chats };
}

// ---- HTTP ------------------------------------------------------------------

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether a failed request may be sent again: the app was down or restarting. */
function isTransient(error: unknown): boolean {
  const text = `${String(error)} ${String((error as { cause?: unknown }).cause ?? "")}`;
  return /ECONNREFUSED|ECONNRESET|socket|fetch failed|terminated|other side closed|UND_ERR|timeout|aborted|50[23]/i.test(
    text,
  );
}

export class HttpGiveUp extends Error {
  override name = "HttpGiveUp";
}

class BrokenResponse extends Error {
  override name = "BrokenResponse";
}

/** `fetch` that waits for the app to come back (bounded) on connection errors and 502/503. */
async function fetchPatiently(url: string, init: RequestInit, deadline: number): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
      if (response.status !== 502 && response.status !== 503) return response;
      await response.body?.cancel();
      if (Date.now() > deadline) throw new HttpGiveUp(`${url} answered ${response.status}`);
    } catch (error) {
      if (error instanceof HttpGiveUp || !isTransient(error) || Date.now() > deadline) throw error;
    }
    await pause(Math.min(2_000, 100 * attempt));
  }
}

export class Owners {
  private cookies = new Map<number, string>();
  constructor(
    private readonly appUrl: string,
    private readonly deadline: number,
  ) {}

  async cookie(owner: number): Promise<string> {
    const known = this.cookies.get(owner);
    if (known) return known;
    const response = await fetchPatiently(
      `${this.appUrl}/jobs`,
      { redirect: "manual" },
      this.deadline,
    );
    await response.body?.cancel();
    const cookie = response.headers.get("set-cookie")?.split(";")[0];
    if (!cookie) throw new Error("the app set no owner cookie");
    this.cookies.set(owner, cookie);
    return cookie;
  }
}

const trpcResult = z.object({ result: z.object({ data: z.object({ json: z.unknown() }) }) });
const createdJob = z.object({ id: z.string(), status: z.string() });

async function trpcMutation(
  appUrl: string,
  cookie: string,
  path: string,
  input: unknown,
  deadline: number,
): Promise<unknown> {
  const response = await fetchPatiently(
    `${appUrl}/api/trpc/${path}`,
    {
      method: "POST",
      headers: { "content-type": "application/json", cookie },
      body: JSON.stringify({ json: input }),
    },
    deadline,
  );
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) throw new Error(`${path} answered ${response.status}: ${JSON.stringify(body)}`);
  const parsed = trpcResult.safeParse(body);
  // NOTE: a 200 whose body broke off: the app was killed while it answered.
  if (!parsed.success) throw new BrokenResponse(`${path} answered 200 with a body cut short`);
  return parsed.data.result.data.json;
}

export interface JobOutcome {
  spec: JobSpec;
  id: string | null;
  /** create calls made; more than one when a call met a dead app (each may have made a job). */
  attempts: number;
  error: string | null;
}

export async function submitJob(
  appUrl: string,
  owners: Owners,
  spec: JobSpec,
  deadline: number,
): Promise<JobOutcome> {
  let attempts = 0;
  for (;;) {
    attempts += 1;
    try {
      const cookie = await owners.cookie(spec.owner);
      const created = createdJob.parse(
        await trpcMutation(appUrl, cookie, "jobs.create", spec.input, deadline),
      );
      return { spec, id: created.id, attempts, error: null };
    } catch (error) {
      // A 500 while the database restarts is as transient as a refused connection.
      const retryable =
        isTransient(error) ||
        error instanceof BrokenResponse ||
        /answered 5\d\d/.test(String(error));
      if (Date.now() > deadline || !retryable)
        return { spec, id: null, attempts, error: String(error) };
      await pause(500);
    }
  }
}

export interface ChatOutcome {
  spec: ChatSpec;
  conversationId: string;
  /** HTTP status or transport error of each request (submit, then continue). */
  requests: string[];
  stopped: boolean;
}

/** Reads a UI message stream to its end: the stored answer is what gets judged, not the stream. */
async function drain(response: Response): Promise<void> {
  if (!response.body) return;
  const reader = response.body.getReader();
  for (;;) {
    const { done } = await reader.read();
    if (done) return;
  }
}

const errorCode = z.object({ error: z.object({ code: z.string() }) });

export async function runChat(
  appUrl: string,
  owners: Owners,
  spec: ChatSpec,
  deadline: number,
  lastAnswer: (conversationId: string) => Promise<{ status: string } | null>,
): Promise<ChatOutcome> {
  const conversationId = randomUUID();
  const outcome: ChatOutcome = { spec, conversationId, requests: [], stopped: false };
  const text = [spec.prompt, CHAT_PACE, spec.modelFault].filter(Boolean).join(" ");
  const post = async (body: unknown) => {
    // A turn refused before its stream began (5xx: the database was restarting,
    // the app starting) is sent again, as a user pressing Retry would.
    for (;;) {
      const cookie = await owners.cookie(spec.owner);
      try {
        const response = await fetchPatiently(
          `${appUrl}/api/chat`,
          {
            method: "POST",
            headers: { "content-type": "application/json", cookie },
            body: JSON.stringify(body),
          },
          deadline,
        );
        if (response.status >= 400 && response.status < 500) {
          // Refused: the error's code says why (a repeat of a submit whose answer was lost, say).
          const refusal = errorCode.safeParse(await response.json().catch(() => null));
          outcome.requests.push(
            `${response.status} ${refusal.success ? refusal.data.error.code : "?"}`,
          );
          return;
        }
        outcome.requests.push(String(response.status));
        if (response.status >= 500 && Date.now() < deadline) {
          await response.body?.cancel();
          await pause(500);
          continue;
        }
        if (spec.stopAfterMs !== null && !outcome.stopped) {
          setTimeout(() => {
            outcome.stopped = true;
            void trpcMutation(appUrl, cookie, "chat.stop", { id: conversationId }, deadline).catch(
              () => undefined,
            );
          }, spec.stopAfterMs);
        }
        await drain(response);
      } catch (error) {
        // The app died under the stream: what it stored is what the invariants judge.
        outcome.requests.push(`error: ${String(error).slice(0, 120)}`);
      }
      return;
    }
  };
  await post({
    action: "submit",
    conversationId,
    message: {
      id: `c${randomUUID().replaceAll("-", "").slice(0, 20)}`,
      role: "user",
      parts: [{ type: "text", text }],
    },
    history: [],
  });
  if (spec.continueIfInterrupted) {
    const answer = await lastAnswer(conversationId);
    if (answer?.status === "interrupted") await post({ action: "continue", conversationId });
  }
  return outcome;
}
