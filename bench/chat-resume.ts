/**
 * The chat benchmark's follower figures (bench/chat.ts runs them in the same
 * run as the rest): (c) resume, reconnect → first replayed event, and the
 * lag of live followers behind the writer, with every stream followed by
 * extra readers; (e) the app's memory per follower connection, and the
 * Postgres rows and bytes an answer's log takes.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import pg from "pg";
import { DEMO_MODEL_ID } from "@/lib/ai/demo-model/protocol";
import { readServerSentEvents } from "./lib/process";
import { percentiles, type Percentiles } from "./lib/stats";

/** One SSE event as a client saw it: its log seq, when it arrived, and whether it was text. */
interface Arrival {
  seq: number;
  at: number;
}

/** A new conversation's first message, as the browser sends it. */
export function submitBody(prompt: string) {
  return JSON.stringify({
    action: "submit",
    conversationId: randomUUID(),
    message: {
      id: `b${randomUUID().slice(0, 12)}`,
      role: "user",
      parts: [{ type: "text", text: prompt }],
    },
    history: [],
  });
}

/**
 * Starts a turn; resolves with its conversation id once `afterTexts` text
 * events arrived (the moment a reader joins), and its arrivals.
 */
async function write(appUrl: string, cookie: string, prompt: string, afterTexts = 1) {
  const body = submitBody(prompt);
  const conversationId = (JSON.parse(body) as { conversationId: string }).conversationId;
  const response = await fetch(`${appUrl}/api/chat`, {
    method: "POST",
    headers: { "content-type": "application/json", cookie },
    body,
  });
  if (!response.ok || !response.body) throw new Error(`chat route answered ${response.status}`);
  const arrivals = new Map<number, number>();
  let joinNow!: () => void;
  const started = new Promise<void>((resolve) => (joinNow = resolve));
  let texts = 0;
  const done = readServerSentEvents(response.body, (data, id) => {
    arrivals.set(Number(id), performance.now());
    if (data.startsWith('{"type":"text-delta"') && ++texts >= afterTexts) joinNow();
  });
  // An answer with fewer text events than that (coalesced on a busy machine) is joined at its end.
  void done.finally(joinNow);
  await started;
  return { conversationId, arrivals, done };
}

/** A follower: GET /api/chat/[id]/stream; the time to its first event and every arrival. */
async function followOnce(appUrl: string, cookie: string, conversationId: string) {
  const started = performance.now();
  const response = await fetch(`${appUrl}/api/chat/${conversationId}/stream`, {
    headers: { cookie },
  });
  if (response.status !== 200 || !response.body)
    throw new Error(`resume answered ${response.status}`);
  const arrivals: Arrival[] = [];
  await readServerSentEvents(response.body, (_, id) => {
    if (id) arrivals.push({ seq: Number(id), at: performance.now() });
  });
  return { firstEventMs: (arrivals[0]?.at ?? NaN) - started, arrivals };
}

export interface ResumeFigures {
  streams: number;
  followersPerStream: number;
  /** Resume request sent → first replayed event. */
  firstReplayedEventMs: Percentiles;
  /** Follower receives an event − the writer's client received it, for live events. */
  followerLagMs: Percentiles;
  /** Events a follower missed or saw twice (must be 0). */
  gapsOrDuplicates: number;
}

/**
 * (c): `streams` answers in flight, their starts spread over one stream's
 * length (as users arrive), each followed by `followersPerStream` readers
 * that connect after its 10th text event (a reload mid-answer: a replay, then
 * live events).
 */
export async function measureResume(options: {
  appUrl: string;
  cookies: string[];
  streams: number;
  followersPerStream: number;
  prompt: (i: number) => string;
  streamMs: number;
}): Promise<ResumeFigures> {
  const firstEvent: number[] = [];
  const lag: number[] = [];
  let gapsOrDuplicates = 0;
  await Promise.all(
    Array.from({ length: options.streams }, async (_, i) => {
      const cookie = options.cookies[i % options.cookies.length]!;
      await new Promise((resolve) => setTimeout(resolve, (i * options.streamMs) / options.streams));
      const writer = await write(options.appUrl, cookie, options.prompt(i), 10);
      const followers = await Promise.all(
        Array.from({ length: options.followersPerStream }, () =>
          followOnce(options.appUrl, cookie, writer.conversationId),
        ),
      );
      await writer.done;
      for (const follower of followers) {
        firstEvent.push(follower.firstEventMs);
        const seqs = follower.arrivals.map((arrival) => arrival.seq);
        seqs.forEach((seq, k) => {
          if (seq !== k + 1) gapsOrDuplicates += 1;
        });
        // Live events only: the replay delivers the past at once, by design.
        const joined = follower.arrivals[0]?.at ?? Infinity;
        for (const { seq, at } of follower.arrivals) {
          const written = writer.arrivals.get(seq);
          if (written !== undefined && written > joined) lag.push(at - written);
        }
      }
    }),
  );
  return {
    streams: options.streams,
    followersPerStream: options.followersPerStream,
    firstReplayedEventMs: percentiles(firstEvent),
    followerLagMs: percentiles(lag),
    gapsOrDuplicates,
  };
}

/** Resident memory of a process in KB (VmRSS), null where /proc cannot tell. */
function rssKb(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

export interface FootprintFigures {
  followers: number;
  /** The app's resident memory growth per open follower connection. */
  kbPerFollower: number | null;
  /** The same for a connection to the bare Next.js streaming route: the framework's floor. */
  kbPerBareConnection: number | null;
  /** An answer's log in Postgres: rows and bytes (row data, as pg_column_size counts it). */
  rowsPerAnswer: number;
  bytesPerAnswer: number;
  /** The answer's text, for scale. */
  textBytesPerAnswer: number;
}

/**
 * (e): `followers` readers on one slow answer, the app's RSS before and
 * with them all connected; then the log's size per finished answer.
 */
export async function measureFootprint(options: {
  appUrl: string;
  appPid: number | undefined;
  databaseUrl: string;
  cookie: string;
  followers: number;
}): Promise<FootprintFigures> {
  const writer = await write(
    options.appUrl,
    options.cookie,
    "A long and slow answer to follow [[demo:tps=2]]",
  );
  const follower = await memoryPerConnection(options.appPid, options.followers, () =>
    fetch(`${options.appUrl}/api/chat/${writer.conversationId}/stream`, {
      headers: { cookie: options.cookie },
    }),
  );
  const bare = await memoryPerConnection(options.appPid, options.followers, () =>
    fetch(`${options.appUrl}/api/bench/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: DEMO_MODEL_ID,
        stream: true,
        messages: [{ role: "user", content: "A long and slow answer [[demo:tps=2]]" }],
      }),
    }),
  );

  const client = new pg.Client({ connectionString: options.databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ rows: string; bytes: string; text: string }>(`
      SELECT avg(n)::float8 AS rows, avg(bytes)::float8 AS bytes, avg(text)::float8 AS text FROM (
        SELECT count(*) AS n, sum(pg_column_size(e.*)) AS bytes,
               sum(CASE WHEN e.type = 'text-delta' THEN octet_length(e.payload::jsonb->>'delta') ELSE 0 END) AS text
        FROM chat_events e JOIN messages m ON m.id = e.message_id
        WHERE m.status = 'complete' GROUP BY e.message_id) per_answer`);
    const row = rows[0]!;
    return {
      followers: options.followers,
      kbPerFollower: follower,
      kbPerBareConnection: bare,
      rowsPerAnswer: Math.round(Number(row.rows)),
      bytesPerAnswer: Math.round(Number(row.bytes)),
      textBytesPerAnswer: Math.round(Number(row.text)),
    };
  } finally {
    await client.end();
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 1500));

/**
 * The app's resident memory growth per open streaming connection: `count`
 * connections opened by `open` (after one warm-up), read slowly, measured
 * while all are open, then closed.
 */
async function memoryPerConnection(
  pid: number | undefined,
  count: number,
  open: () => Promise<Response>,
): Promise<number | null> {
  await (await open()).body?.cancel();
  await settle();
  const before = rssKb(pid);
  const responses = await Promise.all(Array.from({ length: count }, open));
  if (responses.some((response) => response.status !== 200))
    throw new Error("a streaming connection was refused");
  const readers = responses.map((response) => response.body!.getReader());
  for (const reader of readers) void reader.read().catch(() => {});
  await settle();
  const during = rssKb(pid);
  await Promise.all(readers.map((reader) => reader.cancel().catch(() => {})));
  return before === null || during === null
    ? null
    : Math.round(((during - before) / count) * 10) / 10;
}
