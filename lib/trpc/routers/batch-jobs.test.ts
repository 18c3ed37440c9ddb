/**
 * Batch jobs through the API: create (the file parsed and its rows stored in
 * bulk), the detail with its counts and cost, the items a page at a time,
 * the list's cost per job, and the results download with the page's access
 * rules.
 */
import { TRPCError } from "@trpc/server";
import { parse } from "csv-parse/sync";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { GET as downloadResults } from "@/app/api/jobs/[id]/results/route";
import { db } from "@/lib/db";
import { createJobAccessToken } from "@/lib/jobs/access-token";
import { commitStep } from "@/lib/jobs/event-log";
import { jobEventsHub } from "@/lib/jobs/live";
import { BATCH_LIMITS } from "@/lib/jobs/schemas";
import { stubJobDispatcher } from "@/test/jobs";
import { callerAsNewOwner } from "@/test/trpc";

let stub: ReturnType<typeof stubJobDispatcher>;
beforeEach(() => {
  stub = stubJobDispatcher();
});
afterEach(() => stub.restore());
afterAll(() => jobEventsHub().close());

const table = (content: string, format: "csv" | "jsonl" = "csv") => ({
  type: "table" as const,
  format,
  fileName: `texts.${format}`,
  content,
});

async function newBatch(content = 'title,text\nA,"First, text"\nB,Second text\nC,Third text') {
  const owner = await callerAsNewOwner();
  const created = await owner.caller.jobs.create({
    kind: "batch",
    mode: "economy",
    source: table(content),
    budget: "2.50",
    deadlineMinutes: 90,
  });
  return { ...owner, id: created.id };
}

function download(id: string, query: string, headers = new Headers()) {
  return downloadResults(
    new Request(`http://localhost/api/jobs/${id}/results?${query}`, { headers }),
    {
      params: Promise.resolve({ id }),
    },
  );
}

describe("jobs.create for a batch", () => {
  it("stores the rows as items, keeps the file out of the job's input, and records the limits", async () => {
    const before = Date.now();
    const { caller, id } = await newBatch();
    expect(stub.sent).toEqual([
      { name: "requested", job: expect.objectContaining({ id, kind: "batch" }) },
    ]);
    const job = await caller.jobs.byId({ id });
    expect(job).toMatchObject({
      kind: "batch",
      title: "3 summaries from texts.csv",
      input: {
        kind: "batch",
        mode: "economy",
        retry: "batch",
        source: { type: "table", format: "csv", fileName: "texts.csv", rows: 3 },
      },
      items: { total: 3, done: 0, failed: 0, pending: 3 },
      budgetMicros: 2_500_000,
      cost: { micros: 0, liveMicros: 0, calls: 0 },
    });
    expect(job.input).not.toHaveProperty("source.content");
    expect(job.deadlineAt!.getTime()).toBeGreaterThanOrEqual(before + 90 * 60_000);
    const page = await caller.jobs.items({ id, limit: 2 });
    expect(page.items.map((item) => [item.position, item.label, item.status])).toEqual([
      [1, "A", "pending"],
      [2, "B", "pending"],
    ]);
    const next = await caller.jobs.items({ id, limit: 2, cursor: page.nextCursor });
    expect(next).toEqual({
      items: [expect.objectContaining({ position: 3, label: "C" })],
      nextCursor: null,
    });
  });

  it("takes 10,000 rows, the limit, in one create", async () => {
    const rows = Array.from({ length: BATCH_LIMITS.maxRows }, (_, i) =>
      JSON.stringify(`Text ${i + 1}.`),
    );
    const { caller } = await callerAsNewOwner();
    const { id } = await caller.jobs.create({
      kind: "batch",
      mode: "now",
      source: table(rows.join("\n"), "jsonl"),
    });
    expect(await db.batchItem.count({ where: { jobId: id } })).toBe(10_000);
    const last = await db.batchItem.findFirstOrThrow({
      where: { jobId: id },
      orderBy: { position: "desc" },
      select: { position: true, text: true },
    });
    expect(last).toEqual({ position: 10_000, text: "Text 10000." });
  });

  it("refuses a file it cannot read with a message naming the row, and writes no job", async () => {
    const { caller, ownerId } = await callerAsNewOwner();
    const error = await caller.jobs
      .create({ kind: "batch", mode: "now", source: table("id,text\na,fine\nb,") })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TRPCError);
    expect((error as TRPCError).code).toBe("BAD_REQUEST");
    expect((error as TRPCError).message).toBe("Row 2 has no text.");
    expect(await db.job.count({ where: { ownerId } })).toBe(0);
  });
});

describe("jobs.create for a batch of files or web pages", () => {
  it("copies the opening of each library file into its item, and refuses someone else's file", async () => {
    const { caller, ownerId } = await callerAsNewOwner();
    await db.owner.create({ data: { id: ownerId }, select: { id: true } });
    const long = await db.document.create({
      data: {
        ownerId,
        title: "Long notes",
        text: "y".repeat(BATCH_LIMITS.maxSourceChars + 10),
        mime: "text/plain",
        checksum: "a",
      },
      select: { id: true },
    });
    const short = await db.document.create({
      data: {
        ownerId,
        title: "Short notes",
        text: "Vacuum matters.",
        mime: "text/plain",
        checksum: "b",
      },
      select: { id: true },
    });
    const { id } = await caller.jobs.create({
      kind: "batch",
      mode: "now",
      source: { type: "documents", documentIds: [long.id, short.id] },
    });
    const job = await caller.jobs.byId({ id });
    expect(job).toMatchObject({
      title: "2 summaries of files",
      input: { source: { type: "documents", rows: 2 } },
    });
    const items = await db.batchItem.findMany({
      where: { jobId: id },
      orderBy: { position: "asc" },
      select: { label: true, text: true, documentId: true },
    });
    expect(items.map((item) => [item.label, item.text.length, item.documentId])).toEqual([
      ["Long notes", BATCH_LIMITS.maxSourceChars, long.id],
      ["Short notes", 15, short.id],
    ]);

    const stranger = await callerAsNewOwner();
    await expect(
      stranger.caller.jobs.create({
        kind: "batch",
        mode: "now",
        source: { type: "documents", documentIds: [short.id] },
      }),
    ).rejects.toSatisfy(
      (error: unknown) => error instanceof TRPCError && error.code === "NOT_FOUND",
    );
  });

  it("stores each distinct URL as an item to fetch, labelled by its address", async () => {
    const { caller } = await callerAsNewOwner();
    const { id } = await caller.jobs.create({
      kind: "batch",
      mode: "economy",
      source: {
        type: "urls",
        urls: ["https://example.org/a", "https://example.org/", "https://example.org/a"],
      },
    });
    const items = await db.batchItem.findMany({
      where: { jobId: id },
      orderBy: { position: "asc" },
      select: { label: true, text: true, sourceUrl: true },
    });
    expect(items).toEqual([
      { label: "example.org/a", text: "", sourceUrl: "https://example.org/a" },
      { label: "example.org", text: "", sourceUrl: "https://example.org/" },
    ]);
    await expect(
      caller.jobs.create({
        kind: "batch",
        mode: "now",
        source: {
          type: "urls",
          urls: Array.from({ length: 101 }, (_, i) => `https://example.org/${i}`),
        },
      }),
    ).rejects.toSatisfy(
      (error: unknown) => error instanceof TRPCError && error.code === "BAD_REQUEST",
    );
  });
});

describe("batch job cost", () => {
  it("prices the recorded tokens: economy at half, the live equivalent beside it; the list shows cost per job", async () => {
    const { caller, id } = await newBatch();
    await commitStep(id, "read-results-1", {
      usage: [
        { modelId: "gpt-5-mini", mode: "batch", calls: 3, inputTokens: 1_000_000, outputTokens: 0 },
      ],
    });
    // A retried step records nothing twice.
    await commitStep(id, "read-results-1", {
      usage: [
        { modelId: "gpt-5-mini", mode: "batch", calls: 3, inputTokens: 1_000_000, outputTokens: 0 },
      ],
    });
    await commitStep(id, "summarize-items-retry-1-1", {
      usage: [
        { modelId: "gpt-5-mini", mode: "live", calls: 1, inputTokens: 0, outputTokens: 1_000_000 },
      ],
    });
    const job = await caller.jobs.byId({ id });
    expect(job.cost).toMatchObject({
      micros: 125_000 + 2_000_000,
      liveMicros: 250_000 + 2_000_000,
      calls: 4,
      economy: true,
      unpricedModels: [],
    });
    const list = await caller.jobs.list({});
    expect(list.items).toEqual([expect.objectContaining({ id, costMicros: 2_125_000 })]);
  });
});

describe("GET /api/jobs/:id/results", () => {
  it("gives the owner every item as CSV or JSONL, and nobody else anything", async () => {
    const { id, headers } = await newBatch('text\n"Says ""hi"", then\nleaves"\nPlain');
    await db.batchItem.update({
      where: { jobId_position: { jobId: id, position: 1 } },
      data: {
        status: "done",
        summary: 'A "quoted", multi\nline summary',
        mode: "batch",
        inputTokens: 9,
        outputTokens: 4,
      },
      select: { position: true },
    });
    const csvResponse = await download(id, "format=csv", headers);
    expect(csvResponse.status).toBe(200);
    expect(csvResponse.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(csvResponse.headers.get("content-disposition")).toBe(
      `attachment; filename="dispatch-${id}.csv"`,
    );
    const rows = parse(await csvResponse.text(), { columns: true }) as Array<
      Record<string, string>
    >;
    expect(rows).toEqual([
      expect.objectContaining({
        position: "1",
        status: "done",
        summary: 'A "quoted", multi\nline summary',
        mode: "batch",
        input_tokens: "9",
      }),
      expect.objectContaining({ position: "2", label: "Plain", status: "pending", summary: "" }),
    ]);

    const jsonl = await (await download(id, "format=jsonl", headers)).text();
    expect(
      jsonl
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as unknown),
    ).toEqual([
      expect.objectContaining({ position: 1, summary: 'A "quoted", multi\nline summary' }),
      expect.objectContaining({ position: 2, summary: null }),
    ]);

    const stranger = await callerAsNewOwner();
    expect((await download(id, "format=csv", stranger.headers)).status).toBe(404);
    expect((await download(id, "format=csv")).status).toBe(404);
    const token = createJobAccessToken(id);
    expect((await download(id, `format=csv&token=${encodeURIComponent(token)}`)).status).toBe(200);
    expect((await download(id, "format=xlsx", headers)).status).toBe(400);
  });
});
