import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  registerStream,
  stopStream,
  unregisterStream,
  whenListening,
} from "@/lib/chat/active-streams";
import { db } from "@/lib/db";

let other: pg.Client;
beforeAll(async () => {
  other = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await other.connect();
});
afterAll(() => other.end());

async function streamingConversation() {
  const ownerId = randomUUID();
  const conversationId = randomUUID();
  await db.owner.create({ data: { id: ownerId } });
  await db.conversation.create({ data: { id: conversationId, ownerId } });
  await db.message.create({
    data: {
      id: randomUUID(),
      conversationId,
      position: 0,
      role: "assistant",
      parts: [],
      status: "streaming",
    },
  });
  return conversationId;
}

describe("stopping an answer", () => {
  it("aborts a stream of this process directly", async () => {
    const controller = new AbortController();
    const id = randomUUID();
    registerStream(id, "m1", controller);
    expect(await stopStream(id)).toBe(true);
    expect(controller.signal.aborted).toBe(true);
    unregisterStream(id, "m1");
    expect(await stopStream(id)).toBe(false);
  });

  it("aborts a local stream when another instance publishes the stop", async () => {
    const controller = new AbortController();
    const id = randomUUID();
    registerStream(id, "m2", controller);
    expect(await whenListening()).toBe(true);
    await other.query("SELECT pg_notify('dispatch_chat_stop', $1)", [id]);
    await expect.poll(() => controller.signal.aborted).toBe(true);
    unregisterStream(id, "m2");
  });

  it("publishes the stop for an answer written by another instance", async () => {
    const id = await streamingConversation();
    const received: string[] = [];
    other.on("notification", (message) => received.push(message.payload ?? ""));
    await other.query("LISTEN dispatch_chat_stop");
    expect(await stopStream(id)).toBe(true);
    await expect.poll(() => received).toContain(id);
    expect(await stopStream(randomUUID())).toBe(false);
  });
});
