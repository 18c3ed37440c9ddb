/**
 * Following answers from their logs, over real HTTP to the demo model and a
 * real Postgres, with several app instances on one database: followers that
 * join at any point see every event once, in order, up to the same end; a
 * follower on another instance than the generating one; Stop from another
 * instance; and a generating process killed with SIGKILL, whose answer its
 * followers see interrupted within the liveness bound.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startDemoModel, type DemoModelServer } from "@/lib/ai/demo-model/server";

let model: DemoModelServer;
let POST: typeof import("@/app/api/chat/route").POST;
let GET: typeof import("@/app/api/chat/[id]/stream/route").GET;
let db: typeof import("@/lib/db").db;
let stopStream: typeof import("@/lib/chat/active-streams").stopStream;
let cookies: typeof import("@/lib/auth/owner-cookie");
let liveness: typeof import("@/lib/chat/liveness");
const instances: ChildProcess[] = [];

// NOTE: lib/env.ts reads the environment once: app modules load after the model's URL is set.
beforeAll(async () => {
  model = await startDemoModel({ port: 0, ttftMs: 0, tokensPerSecond: 0 });
  process.env.DEMO_MODEL_URL = model.url;
  process.env.AI_PROVIDER = "demo";
  process.env.CHAT_RATE_LIMIT_PER_MINUTE = "1000";
  process.env.CHAT_STREAM_COALESCE_MS = "0";
  ({ POST } = await import("@/app/api/chat/route"));
  ({ GET } = await import("@/app/api/chat/[id]/stream/route"));
  ({ db } = await import("@/lib/db"));
  ({ stopStream } = await import("@/lib/chat/active-streams"));
  cookies = await import("@/lib/auth/owner-cookie");
  liveness = await import("@/lib/chat/liveness");
});
afterAll(async () => {
  for (const child of instances) if (child.exitCode === null) child.kill("SIGKILL");
  await model.stop();
});

/** Another app instance in its own process (test/chat-instance.ts); resolves with its URL. */
async function startInstance(): Promise<{ url: string; process: ChildProcess }> {
  const child = spawn(
    process.execPath,
    ["--conditions=react-server", "--import", "tsx", path.join("test", "chat-instance.ts")],
    { env: { ...process.env }, stdio: ["ignore", "pipe", "inherit"] },
  );
  instances.push(child);
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const { port } = JSON.parse(line) as { port: number };
    return { url: `http://127.0.0.1:${port}`, process: child };
  }
  throw new Error("the chat instance exited before it listened");
}

async function owner() {
  const { value } = await cookies.newOwnerCookie();
  return `${cookies.OWNER_COOKIE}=${encodeURIComponent(value)}`;
}

const submit = (conversationId: string, text: string) => ({
  action: "submit",
  conversationId,
  message: { id: `u${randomUUID().slice(0, 8)}`, role: "user", parts: [{ type: "text", text }] },
});

/** POST /api/chat here, or on another instance when `base` is given. */
function send(cookie: string, body: unknown, base?: string): Promise<Response> {
  const init = {
    method: "POST",
    headers: { "content-type": "application/json", cookie },
    body: JSON.stringify(body),
  };
  return base
    ? fetch(`${base}/api/chat`, init)
    : POST(new Request("http://localhost/api/chat", init));
}

/** GET /api/chat/[id]/stream here, or on another instance when `base` is given. */
function follow(
  cookie: string,
  conversationId: string,
  options: { base?: string; resume?: { message: string; after: number } } = {},
) {
  const query = options.resume
    ? `?message=${options.resume.message}&after=${options.resume.after}`
    : "";
  const pathname = `/api/chat/${conversationId}/stream${query}`;
  const init = { headers: { cookie } };
  return options.base
    ? fetch(`${options.base}${pathname}`, init)
    : GET(new Request(`http://localhost${pathname}`, init), {
        params: Promise.resolve({ id: conversationId }),
      });
}

interface Received {
  ids: number[];
  chunks: Array<{ type: string; delta?: string; messageMetadata?: { status?: string } }>;
}

/** Reads an SSE body to its end: the event ids and chunks, in order. */
async function read(response: Response): Promise<Received> {
  expect(response.status).toBe(200);
  const text = await response.text();
  const received: Received = { ids: [], chunks: [] };
  for (const event of text.split("\n\n")) {
    const id = /^id: (\d+)$/m.exec(event);
    const data = /^data: (.*)$/m.exec(event);
    if (!data || data[1] === "[DONE]") continue;
    received.ids.push(Number(id?.[1]));
    received.chunks.push(JSON.parse(data[1]!) as Received["chunks"][number]);
  }
  return received;
}

const textOf = (received: Received) =>
  received.chunks.map((chunk) => (chunk.type === "text-delta" ? chunk.delta : "")).join("");
const endOf = (received: Received) => received.chunks.at(-1)?.messageMetadata?.status;
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function answerOf(conversationId: string) {
  return db.message.findFirstOrThrow({
    where: { conversationId, role: "assistant" },
    orderBy: { position: "desc" },
    select: { id: true, status: true, parts: true, lastSeq: true, errorCode: true },
  });
}

const storedText = (parts: unknown) =>
  (parts as Array<{ text: string }>).map((part) => part.text).join("");

/** Waits (polling) until the answer has logged at least `seq` events. */
function logged(conversationId: string, seq: number) {
  return vi.waitFor(
    async () => {
      const answer = await answerOf(conversationId);
      if (answer.lastSeq < seq) throw new Error(`at ${answer.lastSeq}`);
      return answer;
    },
    { timeout: 20_000, interval: 20 },
  );
}

// NOTE: generous per-test time: another instance compiles the app's modules
// (tsx) when it starts, which takes long on a loaded machine. No assertion
// depends on it.
describe("following an answer", { timeout: 120_000 }, () => {
  it("gives followers that join at any point every event once, in order, to the same end", async () => {
    const cookie = await owner();
    const id = randomUUID();
    const writer = read(await send(cookie, submit(id, "Tell me a long story [[demo:tps=150]]")));
    const followers: Array<Promise<Received>> = [];
    const partial: Array<{ after: number; received: Promise<Received> }> = [];
    // Followers join while the writer races ahead: from the start, and from a point.
    for (let i = 0; i < 6; i++) {
      const answer = await logged(id, 3 + i * 4);
      followers.push(follow(cookie, id).then(read));
      const after = answer.lastSeq - 1;
      partial.push({
        after,
        received: follow(cookie, id, { resume: { message: answer.id, after } }).then(read),
      });
    }
    const written = await writer;
    const stored = await answerOf(id);
    expect(stored.status).toBe("complete");
    expect(endOf(written)).toBe("complete");
    expect(written.ids).toEqual(range(1, stored.lastSeq));
    expect(textOf(written)).toBe(storedText(stored.parts));
    for (const received of await Promise.all(followers)) {
      expect(received.ids).toEqual(range(1, stored.lastSeq));
      expect(received.chunks[0]?.type).toBe("start");
      expect(textOf(received)).toBe(storedText(stored.parts));
    }
    for (const { after, received } of partial) {
      expect((await received).ids).toEqual(range(after + 1, stored.lastSeq));
    }
  });

  it("has nothing to follow once an answer ended and was replayed", async () => {
    const cookie = await owner();
    const id = randomUUID();
    await read(await send(cookie, submit(id, "Short [[demo:tps=0]]")));
    const { id: message, lastSeq } = await answerOf(id);
    const none = await follow(cookie, id, { resume: { message, after: lastSeq } });
    expect(none.status).toBe(204);
    const stranger = await follow(await owner(), id);
    expect(stranger.status).toBe(404);
  });

  it("follows on another instance, and stops from any instance", async () => {
    const other = await startInstance();
    const cookie = await owner();
    const id = randomUUID();
    // Written here, followed there.
    const written = read(await send(cookie, submit(id, "Across instances [[demo:tps=100]]")));
    await logged(id, 4);
    const followed = await read(await follow(cookie, id, { base: other.url }));
    const stored = await answerOf(id);
    expect(followed.ids).toEqual(range(1, stored.lastSeq));
    expect(textOf(followed)).toBe(textOf(await written));
    expect(textOf(followed)).toBe(storedText(stored.parts));

    // Written there, stopped here, seen by a follower here.
    const second = randomUUID();
    const writing = read(await send(cookie, submit(second, "Slowly [[demo:tps=20]]"), other.url));
    await logged(second, 4);
    const following = follow(cookie, second).then(read);
    await logged(second, 6);
    expect(await stopStream(second)).toBe(true);
    const [seen, own] = await Promise.all([following, writing]);
    expect(endOf(seen)).toBe("stopped");
    expect(endOf(own)).toBe("stopped");
    const stopped = await answerOf(second);
    expect(stopped.status).toBe("stopped");
    expect(textOf(seen)).toBe(storedText(stopped.parts));
    other.process.kill("SIGTERM");
  });

  it("shows followers an answer whose process was killed as interrupted within the bound", async () => {
    const generating = await startInstance();
    const cookie = await owner();
    const id = randomUUID();
    const response = await send(cookie, submit(id, "Until I die [[demo:tps=20]]"), generating.url);
    expect(response.status).toBe(200);
    void response.text().catch(() => {});
    await logged(id, 6);
    const following = follow(cookie, id).then(read);
    generating.process.kill("SIGKILL");
    const killedAt = performance.now();
    const seen = await following;
    const waited = performance.now() - killedAt;
    expect(endOf(seen)).toBe("interrupted");
    const stored = await answerOf(id);
    expect(stored.status).toBe("interrupted");
    expect(stored.errorCode).toBe("connection_lost");
    expect(textOf(seen).length).toBeGreaterThan(0);
    expect(storedText(stored.parts)).toBe(textOf(seen));
    expect(seen.ids).toEqual(range(1, stored.lastSeq));
    // The bound counts from the last heartbeat, which came before the kill;
    // the slack is for a loaded machine, not for the design.
    expect(waited).toBeLessThan(liveness.INTERRUPTED_BOUND_MS + 10_000);

    // Continue picks it up on this instance and completes it once.
    const continued = await read(await send(cookie, { action: "continue", conversationId: id }));
    expect(endOf(continued)).toBe("complete");
    const done = await answerOf(id);
    expect(done.status).toBe("complete");
    expect(storedText(done.parts).startsWith(storedText(stored.parts))).toBe(true);
    const replayed = await read(await follow(cookie, id));
    expect(textOf(replayed)).toBe(storedText(done.parts));
  });
});
