/**
 * The conversation procedures the chat page uses (lib/trpc/routers/chat.ts):
 * a rename with text that cannot be stored is refused with a clear message,
 * a conversation is read only by its owner, and an answer whose server died
 * is read back as interrupted.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { LOST_SERVER_MESSAGE } from "@/lib/chat/liveness";
import { callerAsNewOwner } from "@/test/trpc";

async function conversationOf(ownerId: string) {
  const id = randomUUID();
  await db.owner.upsert({ where: { id: ownerId }, create: { id: ownerId }, update: {} });
  await db.conversation.create({ data: { id, ownerId, title: "Before" } });
  return id;
}

describe("chat procedures", () => {
  it.each(["with a NUL\u0000byte", "with a lone \ud800 surrogate"])(
    "refuses a title %s with a 400 naming the problem, and keeps the old one",
    async (title) => {
      const { caller, ownerId } = await callerAsNewOwner();
      const id = await conversationOf(ownerId);
      const refused = await caller.chat.rename({ id, title }).catch((error: unknown) => error);
      // The caller's error as the client sees it: its code and its words, not its class.
      expect(refused).toMatchObject({
        code: "BAD_REQUEST",
        message: expect.stringMatching(/NUL byte|unpaired UTF-16 surrogate/),
      });
      const stored = await db.conversation.findUniqueOrThrow({ where: { id } });
      expect(stored.title).toBe("Before");
    },
  );

  it("reads a conversation only for its owner: anyone else is told it does not exist", async () => {
    const alice = await callerAsNewOwner();
    const bob = await callerAsNewOwner();
    const id = await conversationOf(alice.ownerId);
    expect(await alice.caller.chat.byId({ id })).toMatchObject({ id, title: "Before" });
    for (const missing of [id, randomUUID()]) {
      await expect(bob.caller.chat.byId({ id: missing })).rejects.toMatchObject({
        code: "NOT_FOUND",
        message: "This conversation does not exist.",
      });
    }
  });

  it("reads an answer whose lease ran out as interrupted, and stores it so", async () => {
    const { caller, ownerId } = await callerAsNewOwner();
    const id = await conversationOf(ownerId);
    const messageId = randomUUID();
    await db.message.create({
      data: {
        id: messageId,
        conversationId: id,
        position: 0,
        role: "assistant",
        parts: [],
        status: "streaming",
        lastSeq: 2,
        leaseExpiresAt: new Date(Date.now() - 60_000),
      },
    });
    await db.chatEvent.createMany({
      data: [
        { messageId, seq: 1, type: "start", payload: JSON.stringify({ type: "start", messageId }) },
        {
          messageId,
          seq: 2,
          type: "text-delta",
          payload: JSON.stringify({ type: "text-delta", id: "0", delta: "Half an" }),
        },
      ],
    });
    const conversation = await caller.chat.byId({ id });
    const answer = conversation!.messages[0]!;
    expect(answer.metadata?.status).toBe("interrupted");
    expect(answer.metadata?.errorMessage).toBe(LOST_SERVER_MESSAGE);
    expect(answer.parts).toEqual([{ type: "text", text: "Half an" }]);
    const last = await db.chatEvent.findFirstOrThrow({
      where: { messageId },
      orderBy: { seq: "desc" },
    });
    expect(last.seq).toBe(3);
    expect(JSON.parse(last.payload)).toMatchObject({
      type: "finish",
      messageMetadata: { status: "interrupted", errorCode: "connection_lost" },
    });
  });
});
