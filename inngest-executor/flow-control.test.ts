/**
 * Flow control with Inngest's documented semantics, through the unmodified
 * SDK: rateLimit skips, throttle delays (never drops), debounce runs the last
 * event, batchEvents collects by size, timeout, key and `if`, priority orders
 * starts within a concurrency limit, singleton skips or cancels, invoking a
 * missing function fails with the official server's words, and a setting the
 * executor cannot honour makes the sync fail. Timing checks use tolerances.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { referenceFunction } from "inngest";
import { describe, expect, it } from "vitest";
import pg from "pg";
import { databaseUrl, startTestApp, testClient, waitFor } from "./testing/helpers";
import { setupExecutorSuite } from "./testing/suite";

/** Each run's start, by function: when its first step ran, and with which events. */
const starts = new Map<string, { at: number; data: Record<string, unknown>[] }[]>();
function started(fn: string, events: { data: unknown }[]): void {
  const list = starts.get(fn) ?? [];
  list.push({ at: Date.now(), data: events.map((event) => event.data as Record<string, unknown>) });
  starts.set(fn, list);
}
const startsOf = (fn: string) => starts.get(fn) ?? [];

function defineFunctions(executorUrl: string) {
  const client = testClient("flow", executorUrl);
  const record = (id: string, options: Record<string, unknown>, holdMs = 0) =>
    client.createFunction(
      { id, triggers: [{ event: `flow/${id}` }], ...options },
      async ({ events, step }) => {
        await step.run("start", async () => {
          started(id, events);
          if (holdMs > 0) await sleep(holdMs);
        });
        return events.length;
      },
    );
  const limitedInvokee = client.createFunction(
    {
      id: "limited-invokee",
      rateLimit: { limit: 1, period: "30s" },
      triggers: [{ event: "flow/limited-invokee-unused" }],
    },
    async () => "done",
  );
  return {
    client,
    functions: [
      record("rate-limited", { rateLimit: { limit: 2, period: "30s", key: "event.data.k" } }),
      record("throttled", { throttle: { limit: 1, period: "1s", burst: 1 } }),
      record("debounced", { debounce: { period: "2s", key: "event.data.k" } }),
      record("debounce-timeout", { debounce: { period: "2s", timeout: "4s" } }),
      record("batched", {
        batchEvents: {
          maxSize: 3,
          timeout: "3s",
          key: "event.data.k",
          if: "event.data.batch == true",
        },
      }),
      record("prioritised", { concurrency: 1, priority: { run: "event.data.p" } }, 300),
      record("singleton-skip", { singleton: { key: "event.data.k", mode: "skip" } }, 1000),
      record("singleton-cancel", { singleton: { mode: "cancel" } }, 1500),
      record("idempotent", { idempotency: "event.data.k" }),
      client.createFunction(
        { id: "invokes-limited", retries: 0, triggers: [{ event: "flow/invokes-limited" }] },
        async ({ step }) => {
          const outcomes: string[] = [];
          for (const n of [1, 2]) {
            try {
              await step.invoke(`call-${n}`, { function: limitedInvokee, data: {} });
              outcomes.push("ran");
            } catch (err) {
              outcomes.push((err as Error).message);
            }
          }
          return outcomes;
        },
      ),
      limitedInvokee,
      client.createFunction(
        { id: "invokes-missing", retries: 0, triggers: [{ event: "flow/invokes-missing" }] },
        async ({ step }) => {
          await step.invoke("call-missing", {
            function: referenceFunction({ functionId: "no-such-function" }),
          });
        },
      ),
    ],
  };
}

const suite = setupExecutorSuite({
  label: "flow",
  apps: (executorUrl) => [defineFunctions(executorUrl)],
});

async function runCounts(eventIds: string[]): Promise<number[]> {
  return Promise.all(eventIds.map(async (id) => (await suite.runs(id)).length));
}

describe("rateLimit", () => {
  it("starts at most `limit` runs per period and key, and skips the other events", async () => {
    const ids = await suite.send([
      ...Array.from({ length: 4 }, (_, n) => ({ name: "flow/rate-limited", data: { k: "a", n } })),
      { name: "flow/rate-limited", data: { k: "b", n: 9 } },
    ]);
    await waitFor(
      async () => startsOf("rate-limited").length,
      (n) => n >= 3,
    );
    // Give a wrongly started fourth or fifth run time to show up.
    await sleep(500);
    expect(await runCounts(ids)).toEqual([1, 1, 0, 0, 1]);
    expect(startsOf("rate-limited")).toHaveLength(3);
    const page = await (await fetch(suite.executor.url)).text();
    expect(page).toMatch(/<strong>rateLimit<\/strong>: over 2 per 30s for key a/);
  });
});

describe("throttle", () => {
  it("starts limit + burst runs at once, then one per period / limit, and drops none", async () => {
    const sentAt = Date.now();
    const ids = await suite.send(
      Array.from({ length: 4 }, (_, n) => ({ name: "flow/throttled", data: { n } })),
    );
    for (const id of ids) await suite.waitForRuns(id, 1, 20_000);
    const at = startsOf("throttled")
      .map((start) => start.at)
      .sort((a, b) => a - b);
    expect(at).toHaveLength(4);
    const [, , third = 0, fourth = 0] = at;
    // Two may start at once; the third not before 1 s, the fourth not before 2 s. Load only delays
    // starts, so these lower bounds hold on a busy machine (50 ms for clock granularity).
    expect(third - sentAt).toBeGreaterThanOrEqual(950);
    expect(fourth - sentAt).toBeGreaterThanOrEqual(1950);
    // The runs page names the rule and draws each step as a timeline bar with its attempts.
    const page = await (await fetch(suite.executor.url)).text();
    expect(page).toMatch(/<strong>throttle<\/strong>: start delayed to /);
    expect(page).toMatch(/<svg role="img" aria-label="Step timeline"[^>]*>.*data-step="start"/s);
  });
});

describe("debounce", () => {
  it("runs once per key, after the period, with the last event", async () => {
    const ids: string[] = [];
    for (let n = 1; n <= 3; n++) {
      ids.push(...(await suite.send({ name: "flow/debounced", data: { k: "a", n } })));
      await sleep(150);
    }
    ids.push(...(await suite.send({ name: "flow/debounced", data: { k: "b", n: 7 } })));
    await waitFor(
      async () => startsOf("debounced").length,
      (n) => n >= 2,
    );
    await sleep(1200);
    const runs = startsOf("debounced");
    expect(runs.map((run) => run.data)).toEqual(
      expect.arrayContaining([[{ k: "a", n: 3 }], [{ k: "b", n: 7 }]]),
    );
    expect(runs).toHaveLength(2);
    // The run belongs to the last event of its key.
    expect(await runCounts(ids)).toEqual([0, 0, 1, 1]);
  });

  it("starts at the latest `timeout` after the first event, even while events keep coming", async () => {
    const first = Date.now();
    let sentUntil = first;
    while (startsOf("debounce-timeout").length === 0 && Date.now() - first < 12_000) {
      await suite.send({
        name: "flow/debounce-timeout",
        data: { at: Date.now() },
      });
      sentUntil = Date.now();
      await sleep(300);
    }
    const [run] = startsOf("debounce-timeout");
    expect(run).toBeDefined();
    // Events never paused for the 2 s period, so only the 4 s timeout can have started it (without
    // the timeout it would wait until 2 s after the last event, past the loop's 12 s).
    expect((run?.at ?? Infinity) - first).toBeLessThan(9000);
    expect((run?.at ?? 0) - first).toBeGreaterThanOrEqual(3900);
    // Last event wins: the run got one of the later events, not the first.
    expect(Number(run?.data[0]?.at)).toBeGreaterThan(first + 1000);
    expect(sentUntil).toBeGreaterThan(first + 3500);
  });
});

describe("batchEvents", () => {
  it("starts a full batch at once, a partial one at its timeout, per key, and runs unmatched events alone", async () => {
    const sentAt = Date.now();
    await suite.send([
      ...[1, 2, 3, 4].map((n) => ({ name: "flow/batched", data: { k: "a", n, batch: true } })),
      ...[5, 6].map((n) => ({ name: "flow/batched", data: { k: "b", n, batch: true } })),
      { name: "flow/batched", data: { k: "a", n: 7, batch: false } },
    ]);
    await waitFor(
      async () => startsOf("batched").length,
      (n) => n >= 4,
    );
    const runs = startsOf("batched");
    const sizes = (key: string, batched: boolean) =>
      runs
        .filter((run) => run.data[0]?.k === key && run.data[0]?.batch === batched)
        .map((run) => run.data.map((data) => data.n));
    expect(sizes("a", true)).toEqual([[1, 2, 3], [4]]);
    expect(sizes("b", true)).toEqual([[5, 6]]);
    expect(sizes("a", false)).toEqual([[7]]);
    const at = (n: number) => runs.find((run) => run.data.some((data) => data.n === n))?.at ?? 0;
    // The full batch and the unmatched event did not wait for the 3 s timeout; the partial batches did.
    expect(at(1) - sentAt).toBeLessThan(2500);
    expect(at(7) - sentAt).toBeLessThan(2500);
    expect(at(4) - sentAt).toBeGreaterThanOrEqual(2950);
    expect(at(5) - sentAt).toBeGreaterThanOrEqual(2950);
  });
});

describe("priority", () => {
  it("starts a higher-priority run first among runs waiting for a concurrency slot", async () => {
    await suite.send({
      name: "flow/prioritised",
      data: { name: "blocker", p: 0 },
    });
    await waitFor(
      async () => startsOf("prioritised").length,
      (n) => n >= 1,
    );
    await suite.send([
      { name: "flow/prioritised", data: { name: "low-1", p: 0 } },
      { name: "flow/prioritised", data: { name: "low-2", p: -1 } },
      { name: "flow/prioritised", data: { name: "high", p: 300 } },
    ]);
    await waitFor(
      async () => startsOf("prioritised").length,
      (n) => n >= 4,
      20_000,
    );
    expect(startsOf("prioritised").map((run) => run.data[0]?.name)).toEqual([
      "blocker",
      "high",
      "low-1",
      "low-2",
    ]);
  });
});

describe("singleton", () => {
  it("skips a new run while one runs for the same key (mode skip), and starts one once it ended", async () => {
    const [first = ""] = await suite.send({
      name: "flow/singleton-skip",
      data: { k: "a", n: 1 },
    });
    await waitFor(
      async () => startsOf("singleton-skip").length,
      (n) => n >= 1,
    );
    const [second = "", other = ""] = await suite.send([
      { name: "flow/singleton-skip", data: { k: "a", n: 2 } },
      { name: "flow/singleton-skip", data: { k: "b", n: 3 } },
    ]);
    await suite.waitForRuns(first);
    await suite.waitForRuns(other);
    expect(await runCounts([second])).toEqual([0]);
    const [third = ""] = await suite.send({
      name: "flow/singleton-skip",
      data: { k: "a", n: 4 },
    });
    const [run] = await suite.waitForRuns(third);
    expect(run?.status).toBe("Completed");
  });

  it("cancels the running run for a new one (mode cancel)", async () => {
    const [first = ""] = await suite.send({
      name: "flow/singleton-cancel",
      data: {},
    });
    await waitFor(
      async () => startsOf("singleton-cancel").length,
      (n) => n >= 1,
    );
    const [second = ""] = await suite.send({
      name: "flow/singleton-cancel",
      data: {},
    });
    const [cancelled] = await suite.waitForRuns(first);
    const [replacement] = await suite.waitForRuns(second);
    expect(cancelled?.status).toBe("Cancelled");
    expect(replacement?.status).toBe("Completed");
  });
});

it("deduplicates an event id for 24 hours", async () => {
  const event = { name: "flow/idempotent", id: "flow-dedupe-1", data: { k: "dedupe" } };
  await suite.send(event);
  const [first] = await suite.waitForRuns("flow-dedupe-1");
  await suite.send({ ...event, data: { k: "dedupe-again" } });
  expect(await suite.runs("flow-dedupe-1")).toHaveLength(1);
  const db = new pg.Client({ connectionString: databaseUrl() });
  await db.connect();
  try {
    await db.query(
      `UPDATE "${suite.schema}".events SET received_at = received_at - interval '25 hours' WHERE id = $1`,
      ["flow-dedupe-1"],
    );
  } finally {
    await db.end();
  }
  await suite.send({ ...event, data: { k: "dedupe-later" } });
  const runs = await suite.waitForRuns("flow-dedupe-1", 2);
  expect(runs.map((run) => run.run_id)).toContain(first?.run_id);
  expect(runs).toHaveLength(2);
});

it("keeps an idempotency key for 24 hours", async () => {
  const [first = "", repeat = ""] = await suite.send([
    { name: "flow/idempotent", data: { k: "order-1" } },
    { name: "flow/idempotent", data: { k: "order-1" } },
  ]);
  await suite.waitForRuns(first);
  expect(await runCounts([repeat])).toEqual([0]);
  // A day later (the first run's creation moved back 25 hours), the key is free again.
  const db = new pg.Client({ connectionString: databaseUrl() });
  await db.connect();
  try {
    await db.query(
      `UPDATE "${suite.schema}".runs SET created_at = created_at - interval '25 hours' WHERE event_id = $1`,
      [first],
    );
  } finally {
    await db.end();
  }
  const [later = ""] = await suite.send({
    name: "flow/idempotent",
    data: { k: "order-1" },
  });
  const [run] = await suite.waitForRuns(later);
  expect(run?.status).toBe("Completed");
});

it("fails an invoke that the invoked function's rateLimit skips", async () => {
  const [id = ""] = await suite.send({ name: "flow/invokes-limited", data: {} });
  const [run] = await suite.waitForRuns(id);
  expect(run?.status).toBe("Completed");
  const [first, second] = run?.output as string[];
  expect(first).toBe("ran");
  expect(second).toMatch(/was not invoked: rateLimit/);
});

it("fails an invoke of a function that does not exist with the official server's message", async () => {
  const [id = ""] = await suite.send({ name: "flow/invokes-missing", data: {} });
  const [run] = await suite.waitForRuns(id);
  expect(run?.status).toBe("Failed");
  expect(run?.error?.message).toContain("could not find function");
});

describe("settings the executor cannot honour", () => {
  it("refuses a sync naming the setting, through the SDK and through /fn/register", async () => {
    const client = testClient("flow-refused", suite.executor.url);
    const fn = client.createFunction(
      {
        id: "debounce-and-throttle",
        triggers: [{ event: "flow/refused" }],
        debounce: { period: "1s" },
        throttle: { limit: 1, period: "1s" },
      },
      async () => "never",
    );
    const refusedApp = await startTestApp(client, [fn]);
    try {
      await expect(suite.executor.sync(refusedApp.url)).rejects.toThrow(/debounce.*throttle/);
      const page = await (await fetch(suite.executor.url)).text();
      expect(page).toMatch(
        /Sync refused.*flow-refused.*&#34;debounce&#34; with &#34;throttle&#34; is not supported/,
      );
    } finally {
      await refusedApp.stop();
    }
    const res = await fetch(`${suite.executor.url}/fn/register`, {
      method: "POST",
      body: JSON.stringify({
        url: "http://127.0.0.1:9/api/inngest",
        appName: "flow-unknown-setting",
        functions: [
          {
            id: "future",
            triggers: [{ event: "flow/future" }],
            steps: { step: { runtime: { url: "http://127.0.0.1:9/api/inngest" } } },
            someFutureSetting: { on: true },
          },
        ],
      }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toContain("someFutureSetting");
  });
});
