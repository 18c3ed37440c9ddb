/**
 * Hostile text and unexpected failures over the real tRPC route handler:
 * a NUL or a lone surrogate in any text field is a 400 naming the field, and
 * no error answer carries an internal message, path or stack.
 */
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { randomUUID } from "node:crypto";
import superjson from "superjson";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { GET, POST } from "@/app/api/trpc/[trpc]/route";
import { db } from "@/lib/db";
import { commitStep } from "@/lib/jobs/event-log";
import { createTRPCContext, createTRPCRouter, publicProcedure } from "@/lib/trpc/init";
import { stubJobDispatcher } from "@/test/jobs";
import { LONE_SURROGATE_MESSAGE, NUL_TEXT_MESSAGE } from "@/lib/text";
import { callerAsNewOwner } from "@/test/trpc";

let stub: ReturnType<typeof stubJobDispatcher>;
beforeEach(() => {
  stub = stubJobDispatcher();
});
afterEach(() => stub.restore());

interface ErrorBody {
  error: {
    message: string;
    data: { code: string; correlationId: string | null };
  };
}

function errorBody(text: string): ErrorBody {
  const { error } = JSON.parse(text) as { error: Parameters<typeof superjson.deserialize>[0] };
  return { error: superjson.deserialize(error) };
}

/** A query (GET) or a mutation (POST) through the app's tRPC route handler. */
async function call(path: string, input: unknown, headers: Headers, method = "POST") {
  const encoded = JSON.stringify(superjson.serialize(input));
  const query = method === "GET" ? `?input=${encodeURIComponent(encoded)}` : "";
  const response = await (method === "GET" ? GET : POST)(
    new Request(`http://localhost/api/trpc/${path}${query}`, {
      method,
      headers: { ...Object.fromEntries(headers), "content-type": "application/json" },
      ...(method === "POST" ? { body: encoded } : {}),
    }),
  );
  return { status: response.status, body: errorBody(await response.text()) };
}

const NUL = "\u0000";
const LONE_HIGH = "\uD800";
const LONE_LOW = "\uDC00";

describe("text with a NUL or a lone surrogate", () => {
  it("is a 400 naming the field, for every text a job takes, never a 500", async () => {
    const { headers } = await callerAsNewOwner();
    const cases: Array<[string, unknown, string]> = [
      ["jobs.create", { kind: "research", question: `What is${NUL} MVCC?` }, "question"],
      [
        "jobs.create",
        { kind: "summarize", source: { type: "text", text: `Some text ${LONE_HIGH} here.` } },
        "source.text",
      ],
      [
        "jobs.create",
        {
          kind: "summarize",
          source: { type: "text", text: "Fine text.", title: `Title ${LONE_LOW}` },
        },
        "source.title",
      ],
      [
        "jobs.create",
        {
          kind: "research",
          question: "What is MVCC?",
          fromChat: { conversationId: randomUUID(), afterMessageId: `m${NUL}` },
        },
        "fromChat.afterMessageId",
      ],
    ];
    for (const [path, input, field] of cases) {
      const { status, body } = await call(path, input, headers);
      expect(status, field).toBe(400);
      expect(body.error.data.code).toBe("BAD_REQUEST");
      expect(body.error.message).toContain(`at ${field}`);
      expect(
        [NUL_TEXT_MESSAGE, LONE_SURROGATE_MESSAGE].filter((reason) =>
          body.error.message.includes(reason),
        ),
      ).toHaveLength(1);
    }
    expect(stub.sent).toEqual([]);
  });

  it("is a 400 naming the field in a plan edit and in a chat rename", async () => {
    const { headers, caller, ownerId } = await callerAsNewOwner();
    const { id } = await caller.jobs.create({ kind: "research", question: "What is MVCC?" });
    await commitStep(id, "start", { status: "running" });
    await commitStep(id, "plan", {
      status: "waiting_for_input",
      events: [{ type: "input.requested", data: { prompt: "Approve?", plan: ["a?"] } }],
    });
    const respond = await call(
      "jobs.respond",
      { id, response: { action: "edit", plan: [`Why ${NUL}?`] } },
      headers,
    );
    expect(respond.status).toBe(400);
    expect(respond.body.error.message).toContain("at response.plan[0]");

    const conversationId = randomUUID();
    await db.conversation.create({ data: { id: conversationId, ownerId } });
    const rename = await call(
      "chat.rename",
      { id: conversationId, title: `Notes ${LONE_HIGH}` },
      headers,
    );
    expect(rename.status).toBe(400);
    expect(rename.body.error.message).toContain("at title");
  });

  it("in a list cursor is a 400, not a query that fails in Postgres", async () => {
    const { headers } = await callerAsNewOwner();
    const cursor = Buffer.from(`2026-01-01T00:00:00.000Z|a${NUL}b`, "utf8").toString("base64url");
    const { status } = await call("jobs.list", { cursor }, headers, "GET");
    expect(status).toBe(400);
  });
});

describe("an unexpected error", () => {
  const router = createTRPCRouter({
    boom: publicProcedure.mutation(() => {
      throw new Error(
        'invalid byte sequence for encoding "UTF8": 0x00 (at /app/.next/server/chunks/ssr/lib_jobs.js:42:7)',
      );
    }),
    // A stored row that no longer parses: a schema's failure inside lib/, not the caller's input.
    badRow: publicProcedure.mutation(() => z.object({ secretColumn: z.string() }).parse({})),
  });

  it("answers a generic message and the correlation id, nothing of itself", async () => {
    const correlationId = `test-${randomUUID()}`;
    const response = await fetchRequestHandler({
      endpoint: "/api/trpc",
      req: new Request("http://localhost/api/trpc/boom", {
        method: "POST",
        headers: { "content-type": "application/json", "x-correlation-id": correlationId },
        body: JSON.stringify(superjson.serialize(undefined)),
      }),
      router,
      createContext: ({ req }) => createTRPCContext({ headers: req.headers }),
    });
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).not.toMatch(/UTF8|\.next|chunks|lib_jobs|stack/);
    const body = errorBody(text);
    expect(body.error.message).toBe(
      `Something went wrong on our side. Reference: ${correlationId}.`,
    );
    expect(body.error.data.correlationId).toBe(correlationId);
  });

  it("keeps a schema failure inside lib/ as internal: no field names, no zodError", async () => {
    const response = await fetchRequestHandler({
      endpoint: "/api/trpc",
      req: new Request("http://localhost/api/trpc/badRow", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(superjson.serialize(undefined)),
      }),
      router,
      createContext: ({ req }) => createTRPCContext({ headers: req.headers }),
    });
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).not.toContain("secretColumn");
    expect(errorBody(text).error.message).toMatch(/^Something went wrong on our side\./);
  });
});
