/** The chat procedures that take a conversation get it authorized first (conversationProcedure). */
import { TRPCError } from "@trpc/server";
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { registerStream, unregisterStream } from "@/lib/chat/active-streams";
import { db } from "@/lib/db";
import { callerAsNewOwner } from "@/test/trpc";

const isNotFound = (error: unknown) => error instanceof TRPCError && error.code === "NOT_FOUND";

async function conversationOf(ownerId: string) {
  const id = randomUUID();
  await db.conversation.create({ data: { id, ownerId, title: "Mine" } });
  return id;
}

describe("a conversation that is not the caller's", () => {
  it("is not found by delete, stop or rename, and its answer in progress keeps streaming", async () => {
    const alice = await callerAsNewOwner();
    await alice.caller.owner.me();
    const bob = await callerAsNewOwner();
    const id = await conversationOf(alice.ownerId);
    const controller = new AbortController();
    registerStream(id, "m-alice", controller);
    try {
      await expect(bob.caller.chat.delete({ id })).rejects.toSatisfy(isNotFound);
      await expect(bob.caller.chat.stop({ id })).rejects.toSatisfy(isNotFound);
      await expect(bob.caller.chat.rename({ id, title: "Theirs" })).rejects.toSatisfy(isNotFound);
      expect(controller.signal.aborted).toBe(false);
      expect(await db.conversation.findUnique({ where: { id }, select: { title: true } })).toEqual({
        title: "Mine",
      });
    } finally {
      unregisterStream(id, "m-alice");
    }
  });

  it("is the owner's to stop and delete", async () => {
    const alice = await callerAsNewOwner();
    await alice.caller.owner.me();
    const id = await conversationOf(alice.ownerId);
    const controller = new AbortController();
    registerStream(id, "m-1", controller);
    expect(await alice.caller.chat.rename({ id, title: "Renamed" })).toEqual({
      id,
      title: "Renamed",
    });
    expect(await alice.caller.chat.delete({ id })).toEqual({ id });
    expect(controller.signal.aborted).toBe(true);
    unregisterStream(id, "m-1");
    await expect(alice.caller.chat.delete({ id })).rejects.toSatisfy(isNotFound);
  });
});
