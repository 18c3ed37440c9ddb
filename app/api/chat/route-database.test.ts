/**
 * The chat route while PostgreSQL restarts: the app reaches the database
 * through a proxy that cuts every connection and refuses new ones. A turn
 * sent during a short outage is answered once the database is back; a longer
 * one gets a 503 with Retry-After and a message fit for the user, never a
 * 500 or the driver's words.
 */
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startDemoModel, type DemoModelServer } from "@/lib/ai/demo-model/server";
import { hostOf, startTcpProxy, type TcpProxy } from "@/test/tcp-proxy";

let model: DemoModelServer;
let proxy: TcpProxy;
let POST: typeof import("@/app/api/chat/route").POST;
let db: typeof import("@/lib/db").db;
let cookies: typeof import("@/lib/auth/owner-cookie");

// NOTE: lib/env.ts reads the environment once, on first import: every app
// module is imported after the proxy's URL is known.
beforeAll(async () => {
  model = await startDemoModel({ port: 0, ttftMs: 0, tokensPerSecond: 0 });
  proxy = await startTcpProxy(hostOf(process.env.DATABASE_URL!));
  process.env.DATABASE_URL = proxy.urlFor(process.env.DATABASE_URL!);
  process.env.DEMO_MODEL_URL = model.url;
  process.env.AI_PROVIDER = "demo";
  process.env.CHAT_RATE_LIMIT_PER_MINUTE = "1000";
  ({ POST } = await import("@/app/api/chat/route"));
  ({ db } = await import("@/lib/db"));
  cookies = await import("@/lib/auth/owner-cookie");
});
afterEach(() => proxy.restore());
afterAll(async () => {
  await proxy?.close();
  await model?.stop();
});

async function owner() {
  const { value } = await cookies.newOwnerCookie();
  return `${cookies.OWNER_COOKIE}=${encodeURIComponent(value)}`;
}

function submit(cookie: string, conversationId: string, text: string) {
  return POST(
    new Request("http://localhost/api/chat", {
      method: "POST",
      headers: { "content-type": "application/json", cookie },
      body: JSON.stringify({
        action: "submit",
        conversationId,
        message: {
          id: `u${randomUUID().slice(0, 8)}`,
          role: "user",
          parts: [{ type: "text", text }],
        },
      }),
    }),
  );
}

describe("POST /api/chat while the database restarts", () => {
  it("answers a turn sent during a short outage once the database is back", async () => {
    const cookie = await owner();
    const id = randomUUID();
    await proxy.cut();
    setTimeout(() => void proxy.restore(), 300);
    const response = await submit(cookie, id, "Are you there?");
    expect(response.status).toBe(200);
    await response.text();
    const answer = await db.message.findFirstOrThrow({
      where: { conversationId: id, role: "assistant" },
      select: { status: true },
    });
    expect(answer.status).toBe("complete");
  });

  it("answers 503 with Retry-After and a clear error when the database stays away", async () => {
    const cookie = await owner();
    await proxy.cut();
    const response = await submit(cookie, randomUUID(), "Hello?");
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("2");
    const correlationId = response.headers.get("x-correlation-id");
    const text = await response.text();
    expect(text).not.toMatch(/127\.0\.0\.1|reach database|prisma|ECONN|terminated/i);
    expect(JSON.parse(text)).toEqual({
      error: {
        code: "database_unavailable",
        message: "Dispatch cannot reach its database just now. Try again in a few seconds.",
        correlationId,
      },
    });
  });
});
