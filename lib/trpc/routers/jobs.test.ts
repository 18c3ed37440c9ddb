import { isTrackedEnvelope, TRPCError } from "@trpc/server";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { createJobAccessToken } from "@/lib/jobs/access-token";
import { commitStep } from "@/lib/jobs/event-log";
import { jobEventsHub } from "@/lib/jobs/live";
import { createTestJob, stubJobDispatcher } from "@/test/jobs";
import { anonymousCaller, callerAsNewOwner } from "@/test/trpc";

const isCode = (code: TRPCError["code"]) => (error: unknown) =>
  error instanceof TRPCError && error.code === code;

let stub: ReturnType<typeof stubJobDispatcher>;
beforeEach(() => {
  stub = stubJobDispatcher();
});
afterEach(() => stub.restore());
afterAll(() => jobEventsHub().close());

describe("jobs.create", () => {
  it("writes the job and its queued event first, then dispatches it", async () => {
    const { caller, ownerId } = await callerAsNewOwner();
    const created = await caller.jobs.create({
      kind: "research",
      question: "How does Postgres vacuum work?",
    });
    expect(created.status).toBe("queued");
    expect(created.id).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(stub.sent).toEqual([
      {
        name: "requested",
        job: expect.objectContaining({ id: created.id, kind: "research", ownerId }),
      },
    ]);
    const job = await caller.jobs.byId({ id: created.id });
    expect(job).toMatchObject({
      title: "How does Postgres vacuum work?",
      status: "queued",
      access: "owner",
      input: { kind: "research", question: "How does Postgres vacuum work?", approvePlan: false },
    });
    expect(job.events.map((event) => [event.seq, event.type])).toEqual([[1, "job.queued"]]);
    expect(job).not.toHaveProperty("ownerId");
    expect(job).not.toHaveProperty("correlationId");
  });

  it("retries a send that fails, then leaves the job queued for the sweeper instead of failing it", async () => {
    const { caller } = await callerAsNewOwner();
    stub.failSends = true;
    const started = Date.now();
    const created = await caller.jobs.create({
      kind: "summarize",
      source: { type: "url", url: "https://example.org/post" },
      notifyEmail: "me@example.org",
    });
    // Bounded: a few quick attempts (an executor restart), not a hung request.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(stub.attempts).toBe(5);
    expect(created.status).toBe("queued");
    const job = await caller.jobs.byId({ id: created.id });
    expect(job).toMatchObject({
      status: "queued",
      errorCode: null,
      title: "Summary of example.org/post",
    });
    expect(job.events.map((event) => event.type)).toEqual(["job.queued"]);
  });

  it("sends once when a retry gets through", async () => {
    const { caller } = await callerAsNewOwner();
    stub.failSends = true;
    setTimeout(() => (stub.failSends = false), 400);
    const created = await caller.jobs.create({ kind: "research", question: "What is a WAL?" });
    expect(created.status).toBe("queued");
    expect(stub.attempts).toBeGreaterThan(1);
    expect(stub.sent.map((sent) => sent.job.id)).toEqual([created.id]);
  });

  it("creates one job per submission: the same request id again returns it, for its owner only", async () => {
    const { caller, ownerId } = await callerAsNewOwner();
    const requestId = "submission-0123456789abcdef";
    const input = { kind: "research" as const, question: "What is a WAL?", requestId };
    // Sent twice at once (a double click), then again later (a retry after a lost answer).
    const [first, second] = await Promise.all([
      caller.jobs.create(input),
      caller.jobs.create(input),
    ]);
    expect(second.id).toBe(first.id);
    await commitStep(first.id, "start", { status: "running" });
    expect(await caller.jobs.create(input)).toEqual({ id: first.id, status: "running" });
    expect(await db.job.count({ where: { ownerId } })).toBe(1);
    const job = await caller.jobs.byId({ id: first.id });
    expect(job.input).not.toHaveProperty("requestId");
    expect(job.events.filter((event) => event.type === "job.queued")).toHaveLength(1);

    // Another owner's request with the same key is their own submission.
    const other = await callerAsNewOwner();
    const theirs = await other.caller.jobs.create(input);
    expect(theirs.id).not.toBe(first.id);
    expect(theirs.status).toBe("queued");

    // Without a key every request is a new job; a malformed key is refused.
    const { requestId: _omitted, ...unkeyed } = input;
    const [a, b] = [await caller.jobs.create(unkeyed), await caller.jobs.create(unkeyed)];
    expect(a.id).not.toBe(b.id);
    await expect(caller.jobs.create({ ...input, requestId: "short" })).rejects.toSatisfy(
      isCode("BAD_REQUEST"),
    );
  });

  it("sends a job found queued by a repeated submission again (its first request may have died before the send)", async () => {
    const { caller } = await callerAsNewOwner();
    const input = {
      kind: "research" as const,
      question: "What is MVCC?",
      requestId: "r".repeat(20),
    };
    stub.failSends = true;
    const created = await caller.jobs.create(input);
    stub.failSends = false;
    expect(stub.sent).toEqual([]);
    expect(await caller.jobs.create(input)).toEqual({ id: created.id, status: "queued" });
    expect(stub.sent.map((sent) => sent.job.id)).toEqual([created.id]);
  });

  it("validates input: URLs must be http(s), addresses cannot smuggle headers, documents must be yours", async () => {
    const { caller } = await callerAsNewOwner();
    await expect(
      caller.jobs.create({ kind: "summarize", source: { type: "url", url: "file:///etc/passwd" } }),
    ).rejects.toSatisfy(isCode("BAD_REQUEST"));
    await expect(
      caller.jobs.create({
        kind: "research",
        question: "Why?",
        notifyEmail: "a@example.org\r\nBcc: x@example.org",
      }),
    ).rejects.toSatisfy(isCode("BAD_REQUEST"));
    const other = await callerAsNewOwner();
    await db.owner.create({ data: { id: other.ownerId } });
    const document = await db.document.create({
      data: {
        ownerId: other.ownerId,
        title: "Private",
        text: "secret",
        mime: "text/plain",
        checksum: "x",
      },
      select: { id: true },
    });
    await expect(
      caller.jobs.create({
        kind: "summarize",
        source: { type: "document", documentId: document.id },
      }),
    ).rejects.toSatisfy(isCode("NOT_FOUND"));
    expect(stub.sent).toEqual([]);
  });
});

describe("access to a job", () => {
  async function ownedJob() {
    const owner = await callerAsNewOwner();
    const { id } = await owner.caller.jobs.create({
      kind: "research",
      question: "What is a GIN index?",
    });
    return { owner, id };
  }

  it("is NOT_FOUND for another owner and for a stranger, in queries, mutations and the subscription", async () => {
    const { id } = await ownedJob();
    const { caller: other } = await callerAsNewOwner();
    const stranger = await anonymousCaller();
    for (const caller of [other, stranger]) {
      await expect(caller.jobs.byId({ id })).rejects.toSatisfy(isCode("NOT_FOUND"));
      await expect(caller.jobs.cancel({ id })).rejects.toSatisfy(isCode("NOT_FOUND"));
      await expect(caller.jobs.respond({ id, response: { action: "approve" } })).rejects.toSatisfy(
        isCode("NOT_FOUND"),
      );
      await expect(caller.jobs.setShare({ id, enabled: true })).rejects.toSatisfy(
        isCode("NOT_FOUND"),
      );
      await expect(
        (async () => {
          for await (const _ of await caller.jobs.events({ id })) break;
        })(),
      ).rejects.toSatisfy(isCode("NOT_FOUND"));
    }
    // A job that does not exist looks exactly the same.
    await expect(other.jobs.byId({ id: "A".repeat(24) })).rejects.toSatisfy(isCode("NOT_FOUND"));
    await expect(other.jobs.byId({ id: "not-an-id" })).rejects.toSatisfy(isCode("NOT_FOUND"));
  });

  it("is read-only for anyone once the owner turns the share link on, and private again when off", async () => {
    const { owner, id } = await ownedJob();
    const { caller: visitor } = await callerAsNewOwner();
    expect(await owner.caller.jobs.setShare({ id, enabled: true })).toEqual({
      id,
      shareEnabled: true,
    });
    const seen = await visitor.jobs.byId({ id });
    expect(seen).toMatchObject({
      id,
      access: "share",
      canAct: false,
      isOwner: false,
      notifyEmail: null,
    });
    await expect(visitor.jobs.cancel({ id })).rejects.toSatisfy(isCode("NOT_FOUND"));
    await expect(visitor.jobs.setShare({ id, enabled: false })).rejects.toSatisfy(
      isCode("NOT_FOUND"),
    );
    await owner.caller.jobs.setShare({ id, enabled: false });
    await expect(visitor.jobs.byId({ id })).rejects.toSatisfy(isCode("NOT_FOUND"));
  });

  it("opens to a valid signed token, not to an expired or tampered one or one for another job", async () => {
    const { id } = await ownedJob();
    const { id: otherJob } = await ownedJob();
    const stranger = await anonymousCaller();
    const token = createJobAccessToken(id);
    expect(await stranger.jobs.byId({ id, token })).toMatchObject({
      id,
      access: "token",
      canAct: true,
      isOwner: false,
    });
    const expired = createJobAccessToken(id, {
      ttlSeconds: 60,
      now: new Date(Date.now() - 120_000),
    });
    const tampered = `${token.slice(0, -2)}${token.endsWith("AA") ? "BB" : "AA"}`;
    for (const bad of [expired, tampered, createJobAccessToken(otherJob), "v1.9999999999.nope"]) {
      await expect(stranger.jobs.byId({ id, token: bad })).rejects.toSatisfy(isCode("NOT_FOUND"));
    }
    // A token lets its holder act on the job, but never change who can see it.
    expect(await stranger.jobs.cancel({ id, token })).toEqual({ status: "cancelled" });
    await expect(stranger.jobs.setShare({ id, enabled: true })).rejects.toSatisfy(
      isCode("NOT_FOUND"),
    );
  });
});

describe("jobs.list", () => {
  it("pages through the owner's jobs, newest first, filtered by status", async () => {
    const { caller, ownerId } = await callerAsNewOwner();
    await db.owner.create({ data: { id: ownerId } });
    const base = Date.now() - 1_000_000;
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const { id } = await createTestJob({
        ownerId,
        title: `job ${i}`,
        status: i % 2 === 0 ? "completed" : "running",
        // Two jobs share a timestamp, so the id breaks the tie.
        createdAt: new Date(base + Math.min(i, 5) * 1000),
      });
      ids.push(id);
    }
    await createTestJob({ title: "someone else's" });

    const seen: string[] = [];
    let cursor: string | null | undefined;
    let pages = 0;
    do {
      const page = await caller.jobs.list({ limit: 3, cursor });
      seen.push(...page.items.map((item) => item.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(7);
    expect(seen.slice(2)).toEqual(ids.slice(0, 5).reverse());
    expect(new Set(seen.slice(0, 2))).toEqual(new Set(ids.slice(5)));

    const completed = await caller.jobs.list({ status: "completed", limit: 10 });
    expect(completed.items.map((item) => item.title)).toEqual(["job 6", "job 4", "job 2", "job 0"]);
    expect(completed.nextCursor).toBeNull();
    expect(Object.keys(completed.items[0]!).sort()).toEqual(
      [
        "costMicros",
        "createdAt",
        "errorMessage",
        "finishedAt",
        "id",
        "kind",
        "progress",
        "shareEnabled",
        "status",
        "title",
        "updatedAt",
      ].sort(),
    );
    await expect(caller.jobs.list({ cursor: "garbage" })).rejects.toSatisfy(isCode("BAD_REQUEST"));
  });
});

describe("jobs.cancel and jobs.respond", () => {
  it("cancel records the request and tells the orchestrator; a finished job stays as it is", async () => {
    const { caller, ownerId } = await callerAsNewOwner();
    await db.owner.create({ data: { id: ownerId } });
    const { id } = await createTestJob({ ownerId, status: "running" });
    expect(await caller.jobs.cancel({ id })).toEqual({ status: "running" });
    expect(stub.sent.map((entry) => entry.name)).toEqual(["cancel"]);
    await commitStep(id, "on-cancel", { status: "cancelled" });
    expect(await caller.jobs.cancel({ id })).toEqual({ status: "cancelled" });
    expect(stub.sent).toHaveLength(1);
    const job = await caller.jobs.byId({ id });
    expect(job.events.map((event) => event.type)).toEqual(["cancel.requested", "job.cancelled"]);
  });

  it("respond is accepted only while the job waits for input, records one answer per request, and resends it after a failed send", async () => {
    const { caller, ownerId } = await callerAsNewOwner();
    await db.owner.create({ data: { id: ownerId } });
    const { id } = await createTestJob({ ownerId, status: "running" });
    await expect(caller.jobs.respond({ id, response: { action: "approve" } })).rejects.toSatisfy(
      isCode("CONFLICT"),
    );
    const { appended } = await commitStep(id, "plan", {
      status: "waiting_for_input",
      events: [
        { type: "input.requested", data: { prompt: "Approve the plan?", plan: ["a", "b"] } },
      ],
    });
    const requestSeq = appended[0]!.seq;
    const plan = ["What is MVCC?", "How does VACUUM reclaim space?"];
    stub.failSends = true;
    await expect(caller.jobs.respond({ id, response: { action: "edit", plan } })).rejects.toThrow();
    stub.failSends = false;
    // The retry (even a different answer, e.g. a double click) sends the answer recorded first.
    expect(await caller.jobs.respond({ id, response: { action: "approve" } })).toEqual({
      recorded: false,
    });
    const answer = {
      name: "input",
      job: expect.objectContaining({ id }),
      data: { action: "edit", plan },
    };
    expect(stub.sent).toEqual([{ ...answer, eventId: `${id}-respond-${requestSeq}` }]);
    const events = await caller.jobs.byId({ id });
    expect(events.events.filter((event) => event.type === "input.provided")).toHaveLength(1);
  });
});

describe("jobs.events", () => {
  it("replays after lastEventId, then streams live events as tracked envelopes", async () => {
    const { caller, ownerId } = await callerAsNewOwner();
    await db.owner.create({ data: { id: ownerId } });
    const { id } = await createTestJob({ ownerId });
    await commitStep(id, "start", { status: "running" });
    await commitStep(id, "search", { progress: 0.25 });
    await commitStep(id, "read", { progress: 0.5 });
    const received: Array<[string, number, string]> = [];
    const stream = await caller.jobs.events({ id, lastEventId: "1" });
    const done = (async () => {
      for await (const chunk of stream) {
        // A server-side caller gets the raw envelope; over HTTP the client sees `{ id, data }`.
        if (!isTrackedEnvelope<{ seq: number; type: string }>(chunk))
          throw new Error("not a tracked event");
        const [eventId, event] = chunk;
        received.push([eventId, event.seq, event.type]);
        if (received.length === 3) break;
      }
    })();
    await commitStep(id, "finish", { status: "completed", result: { report: "ok" } });
    await done;
    expect(received).toEqual([
      ["2", 2, "progress"],
      ["3", 3, "progress"],
      ["4", 4, "job.completed"],
    ]);
  });
});
