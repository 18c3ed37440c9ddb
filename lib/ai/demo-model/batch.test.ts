import { afterEach, describe, expect, it } from "vitest";
import { composeReply } from "@/lib/ai/demo-model/compose";
import { DEMO_MODEL_ID } from "@/lib/ai/demo-model/protocol";
import {
  startDemoModel,
  type DemoModelOptions,
  type DemoModelServer,
} from "@/lib/ai/demo-model/server";

interface BatchBody {
  id: string;
  status: string;
  errors: { data: Array<{ code: string; line: number | null; message: string }> } | null;
  request_counts: { total: number; completed: number; failed: number };
  output_file_id: string | null;
  error_file_id: string | null;
  expired_at: number | null;
  failed_at: number | null;
}

interface ResultLine {
  custom_id: string;
  response: {
    status_code: number;
    body: {
      choices?: Array<{ message: { content: string } }>;
      error?: { type: string; message: string };
    };
  } | null;
  error: { code: string; message: string } | null;
}

const servers: DemoModelServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

async function start(options: DemoModelOptions = {}): Promise<DemoModelServer> {
  const server = await startDemoModel({
    ...options,
    batch: { delayMs: 0, rowsPerSecond: 0, ...options.batch },
  });
  servers.push(server);
  return server;
}

function row(customId: string, content: string, extra: Record<string, unknown> = {}) {
  return {
    custom_id: customId,
    method: "POST",
    url: "/v1/chat/completions",
    body: { model: DEMO_MODEL_ID, messages: [{ role: "user", content }], ...extra },
  };
}

async function upload(server: DemoModelServer, content: string): Promise<Response> {
  const form = new FormData();
  form.set("purpose", "batch");
  form.set("file", new Blob([content]), "input.jsonl");
  return fetch(`${server.url}/files`, { method: "POST", body: form });
}

async function submit(
  server: DemoModelServer,
  rows: unknown[],
  headers: Record<string, string> = {},
): Promise<BatchBody> {
  const file = (await (
    await upload(server, rows.map((r) => JSON.stringify(r)).join("\n"))
  ).json()) as {
    id: string;
  };
  const response = await fetch(`${server.url}/batches`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({
      input_file_id: file.id,
      endpoint: "/v1/chat/completions",
      completion_window: "24h",
    }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as BatchBody;
}

async function settle(server: DemoModelServer, id: string): Promise<BatchBody> {
  const final = ["completed", "failed", "expired", "cancelled"];
  // A deadline, not a count of polls: on a loaded machine each poll takes longer.
  for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
    const batch = (await (await fetch(`${server.url}/batches/${id}`)).json()) as BatchBody;
    if (final.includes(batch.status)) return batch;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`batch ${id} did not settle`);
}

async function linesOf(server: DemoModelServer, fileId: string | null): Promise<ResultLine[]> {
  if (!fileId) return [];
  const text = await (await fetch(`${server.url}/files/${fileId}/content`)).text();
  return text
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as ResultLine);
}

const TEXT = "Why do batch APIs cost less than live calls?";

describe("demo Batch API: validation", () => {
  it("fails a batch whose input file is invalid, naming each bad line", async () => {
    const server = await start();
    const rows = [
      row("a", TEXT),
      "not json",
      row("a", TEXT),
      { ...row("c", TEXT), url: "/v1/embeddings" },
      row("d", TEXT, { model: "gpt-5-mini" }),
      { custom_id: "e", method: "GET", url: "/v1/chat/completions", body: {} },
    ];
    const file = (await (
      await upload(
        server,
        rows.map((r) => (typeof r === "string" ? r : JSON.stringify(r))).join("\n"),
      )
    ).json()) as { id: string };
    const created = await fetch(`${server.url}/batches`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        input_file_id: file.id,
        endpoint: "/v1/chat/completions",
        completion_window: "24h",
      }),
    });
    const batch = await settle(server, ((await created.json()) as BatchBody).id);
    expect(batch.status).toBe("failed");
    expect(batch.failed_at).toBeTypeOf("number");
    expect(batch.output_file_id).toBeNull();
    expect(batch.errors!.data.map(({ code, line }) => [code, line])).toEqual([
      ["invalid_json_line", 2],
      ["duplicate_custom_id", 3],
      ["mismatched_endpoint", 4],
      ["model_not_found", 5],
      ["invalid_request", 6],
    ]);
  });

  it("fails an empty file and a file over the request limit", async () => {
    const server = await start({ batch: { maxRequests: 3 } });
    const empty = await submit(server, []);
    expect((await settle(server, empty.id)).errors!.data[0]!.code).toBe("empty_file");
    const tooMany = await submit(
      server,
      Array.from({ length: 4 }, (_, index) => row(`r${index}`, TEXT)),
    );
    const failed = await settle(server, tooMany.id);
    expect(failed.status).toBe("failed");
    expect(failed.errors!.data[0]).toMatchObject({ code: "too_many_requests" });
    expect(failed.errors!.data[0]!.message).toContain("at most 3");
  });

  it("refuses files over the size limit and answers bad requests in OpenAI's error shape", async () => {
    const server = await start({ batch: { maxFileBytes: 1_000 } });
    const big = await upload(server, "x".repeat(1_001));
    expect(big.status).toBe(400);
    expect(await big.json()).toMatchObject({
      error: { type: "invalid_request_error", code: "file_too_large", param: "file" },
    });
    const huge = await upload(server, "x".repeat(200_000));
    expect(huge.status).toBe(413);

    const notMultipart = await fetch(`${server.url}/files`, { method: "POST", body: "{}" });
    expect(notMultipart.status).toBe(400);
    const noFile = new FormData();
    noFile.set("purpose", "batch");
    const missingFile = await fetch(`${server.url}/files`, { method: "POST", body: noFile });
    expect(missingFile.status).toBe(400);
    expect(await missingFile.json()).toMatchObject({ error: { param: "file" } });

    const missingFields = await fetch(`${server.url}/batches`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ endpoint: "/v1/chat/completions" }),
    });
    expect(missingFields.status).toBe(400);
    expect(await missingFields.json()).toMatchObject({
      error: { code: "invalid_value", param: "input_file_id" },
    });

    const unknownFile = await fetch(`${server.url}/batches`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        input_file_id: "file-nope",
        endpoint: "/v1/chat/completions",
        completion_window: "24h",
      }),
    });
    expect(unknownFile.status).toBe(404);

    const window = await fetch(`${server.url}/batches`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        input_file_id: "file-nope",
        endpoint: "/v1/chat/completions",
        completion_window: "1h",
      }),
    });
    expect((await window.json()).error.param).toBe("completion_window");

    const wrongMethod = await fetch(`${server.url}/batches/batch_x/cancel`);
    expect(wrongMethod.status).toBe(405);
    const badDirective = await submit(server, [row("a", TEXT)]).then(() =>
      fetch(`${server.url}/batches`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-demo-fault": "explode" },
        body: "{}",
      }),
    );
    expect(badDirective.status).toBe(400);
  });
});

describe("demo Batch API: progress and faults", () => {
  it("reports in_progress with growing counts at the configured pace", async () => {
    // 3 s of rows, polled until one poll lands midway: a stalled test process
    // (a loaded machine) would have to sleep through all of it to miss it.
    const server = await start({ batch: { rowsPerSecond: 10 } });
    const batch = await submit(
      server,
      Array.from({ length: 30 }, (_, index) => row(`r${index}`, `${TEXT} ${index}`)),
    );
    let midway: BatchBody | undefined;
    for (const deadline = Date.now() + 20_000; Date.now() < deadline && !midway;) {
      const body = (await (await fetch(`${server.url}/batches/${batch.id}`)).json()) as BatchBody;
      if (body.status === "in_progress" && body.request_counts.completed > 0) midway = body;
      else await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(midway!.request_counts.total).toBe(30);
    expect(midway!.request_counts.completed).toBeLessThan(30);
    const done = await settle(server, batch.id);
    expect(done.request_counts).toEqual({ total: 30, completed: 30, failed: 0 });
  });

  it("fails rows that carry fail markers into the error file, with the live endpoint's error", async () => {
    const server = await start();
    const batch = await submit(server, [
      row("ok-1", TEXT),
      row("bad-500", `${TEXT} [[demo:fail-500]]`),
      row("bad-429", `${TEXT} [[demo:fail-429]]`),
      row("ok-2", `Summarize: ${TEXT} Batches are cheap. They are slow.`),
    ]);
    const done = await settle(server, batch.id);
    expect(done.status).toBe("completed");
    expect(done.request_counts).toEqual({ total: 4, completed: 2, failed: 2 });
    const output = await linesOf(server, done.output_file_id);
    expect(output.map((line) => line.custom_id)).toEqual(["ok-1", "ok-2"]);
    expect(output[0]!.response!.body.choices![0]!.message.content).toBe(
      composeReply([{ role: "user", content: TEXT }]).text,
    );
    const errors = await linesOf(server, done.error_file_id);
    expect(errors.map((line) => [line.custom_id, line.response?.status_code])).toEqual([
      ["bad-500", 500],
      ["bad-429", 429],
    ]);
    expect(errors[0]!.response!.body.error).toMatchObject({ type: "server_error" });
    expect(errors[0]!.error).toBeNull();
  });

  it("fails the first K attempts only, so a retried row succeeds", async () => {
    const server = await start();
    const content = `${TEXT} [[demo:fail-500 times=1]]`;
    const first = await settle(server, (await submit(server, [row("x", content)])).id);
    expect(first.request_counts.failed).toBe(1);
    const retry = await settle(server, (await submit(server, [row("x", content)])).id);
    expect(retry.request_counts).toMatchObject({ completed: 1, failed: 0 });
  });

  it("applies the batch's x-demo-fault header and the configured faults to its rows", async () => {
    const server = await start();
    const rows = Array.from({ length: 6 }, (_, index) => row(`r${index}`, `${TEXT} ${index}`));
    const byHeader = await settle(
      server,
      (await submit(server, rows, { "x-demo-fault": "fail-500 every=3" })).id,
    );
    expect(byHeader.request_counts).toMatchObject({ completed: 4, failed: 2 });
    const errors = await linesOf(server, byHeader.error_file_id);
    expect(errors.map((line) => line.custom_id)).toEqual(["r2", "r5"]);

    const configured = await start({ faults: "fail-429 every=2" });
    const done = await settle(configured, (await submit(configured, rows)).id);
    expect(done.request_counts).toMatchObject({ completed: 3, failed: 3 });
  });

  it("expires a batch on batch-expire after N rows: done rows in the output, the rest batch_expired", async () => {
    const server = await start();
    const rows = Array.from({ length: 5 }, (_, index) => row(`r${index}`, `${TEXT} ${index}`));
    const batch = await settle(
      server,
      (await submit(server, rows, { "x-demo-fault": "batch-expire after=2" })).id,
    );
    expect(batch.status).toBe("expired");
    expect(batch.expired_at).toBeTypeOf("number");
    expect(batch.request_counts).toEqual({ total: 5, completed: 2, failed: 0 });
    expect((await linesOf(server, batch.output_file_id)).map((line) => line.custom_id)).toEqual([
      "r0",
      "r1",
    ]);
    const unfinished = await linesOf(server, batch.error_file_id);
    expect(unfinished.map((line) => line.custom_id)).toEqual(["r2", "r3", "r4"]);
    expect(unfinished[0]).toMatchObject({ response: null, error: { code: "batch_expired" } });
  });

  it("expires on a batch-expire marker in any row, once with times=1", async () => {
    const server = await start();
    const rows = [row("a", TEXT), row("b", `${TEXT} [[demo:batch-expire times=1]]`)];
    const first = await settle(server, (await submit(server, rows)).id);
    expect(first.status).toBe("expired");
    expect(first.output_file_id).toBeNull();
    const second = await settle(server, (await submit(server, rows)).id);
    expect(second.status).toBe("completed");
    const output = await linesOf(server, second.output_file_id);
    expect(output[1]!.response!.body.choices![0]!.message.content).toBe(
      composeReply([{ role: "user", content: TEXT }]).text,
    );
  });

  it("expires a batch still running when its completion window ends", async () => {
    // 10 s of rows in a 3 s window: the first row is due at once (a loaded machine has 3 s to
    // answer it), the last long after the window.
    const server = await start({ batch: { rowsPerSecond: 20, windowMs: 3_000 } });
    const rows = Array.from({ length: 200 }, (_, index) => row(`r${index}`, TEXT));
    const batch = await settle(server, (await submit(server, rows)).id);
    expect(batch.status).toBe("expired");
    expect(batch.request_counts.completed).toBeGreaterThan(0);
    expect(batch.request_counts.completed).toBeLessThan(200);
  });

  it("cannot cancel a finished batch, and deletes files", async () => {
    const server = await start();
    const batch = await settle(server, (await submit(server, [row("a", TEXT)])).id);
    const cancel = await fetch(`${server.url}/batches/${batch.id}/cancel`, { method: "POST" });
    expect(cancel.status).toBe(400);
    expect((await cancel.json()).error.code).toBe("invalid_batch_status");
    const removed = await fetch(`${server.url}/files/${batch.output_file_id}`, {
      method: "DELETE",
    });
    expect(await removed.json()).toMatchObject({ deleted: true });
    expect((await fetch(`${server.url}/files/${batch.output_file_id}/content`)).status).toBe(404);
  });

  it("loses its batches on restart, and says so with a 404", async () => {
    const server = await start();
    const batch = await submit(server, [row("a", TEXT)]);
    await server.stop();
    servers.splice(servers.indexOf(server), 1);
    const restarted = await start({ port: server.port });
    const response = await fetch(`${restarted.url}/batches/${batch.id}`);
    expect(response.status).toBe(404);
    expect((await response.json()).error.message).toContain(batch.id);
  });
});
