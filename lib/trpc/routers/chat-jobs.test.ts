import { TRPCError } from "@trpc/server";
import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { stubJobDispatcher } from "@/test/jobs";
import { callerAsNewOwner } from "@/test/trpc";

let stub: ReturnType<typeof stubJobDispatcher>;
beforeEach(() => {
  stub = stubJobDispatcher();
});
afterEach(() => stub.restore());

describe("jobs started from the chat", () => {
  it("are kept with their conversation (created if the command came first) and come back with it", async () => {
    const { caller, ownerId } = await callerAsNewOwner();
    const conversationId = randomUUID();
    const first = await caller.jobs.create({
      kind: "research",
      question: "What is MVCC?",
      fromChat: { conversationId, afterMessageId: null },
    });
    const second = await caller.jobs.create({
      kind: "summarize",
      source: { type: "text", text: "Postgres keeps old row versions until vacuum removes them." },
      fromChat: { conversationId, afterMessageId: "m-after" },
    });
    const conversation = await caller.chat.byId({ id: conversationId });
    expect(conversation?.jobs).toEqual([
      { id: first.id, afterMessageId: null },
      { id: second.id, afterMessageId: "m-after" },
    ]);
    expect(await db.conversation.count({ where: { id: conversationId, ownerId } })).toBe(1);
    const stored = await db.job.findUniqueOrThrow({
      where: { id: first.id },
      select: { input: true },
    });
    expect(stored.input).not.toHaveProperty("fromChat");
  });

  it("cannot attach a job to another owner's conversation", async () => {
    const alice = await callerAsNewOwner();
    const bob = await callerAsNewOwner();
    const conversationId = randomUUID();
    await alice.caller.jobs.create({
      kind: "research",
      question: "Mine?",
      fromChat: { conversationId, afterMessageId: null },
    });
    await expect(
      bob.caller.jobs.create({
        kind: "research",
        question: "Theirs?",
        fromChat: { conversationId, afterMessageId: null },
      }),
    ).rejects.toSatisfy(
      (error: unknown) => error instanceof TRPCError && error.code === "NOT_FOUND",
    );
    expect(await db.job.count({ where: { ownerId: bob.ownerId } })).toBe(0);
    expect((await alice.caller.chat.byId({ id: conversationId }))?.jobs).toHaveLength(1);
  });

  it("outlive a deleted conversation in the jobs list", async () => {
    const { caller } = await callerAsNewOwner();
    const conversationId = randomUUID();
    const job = await caller.jobs.create({
      kind: "research",
      question: "Does deleting the chat delete the job?",
      fromChat: { conversationId, afterMessageId: null },
    });
    await caller.chat.delete({ id: conversationId });
    const kept = await db.job.findUniqueOrThrow({
      where: { id: job.id },
      select: { conversationId: true },
    });
    expect(kept.conversationId).toBeNull();
  });
});
