/**
 * Conformance suite: real functions written with the unmodified `inngest` SDK,
 * served over HTTP and run by the executor. Each test drives one protocol
 * feature end to end through the event API and checks the outcome through
 * REST API v1.
 */
import { NonRetriableError, RetryAfterError } from "inngest";
import { describe, expect, it } from "vitest";
import { startTestApp, testClient, waitFor } from "./testing/helpers";
import { setupExecutorSuite } from "./testing/suite";

/** How many times each step body ran, by "<test>:<step>". */
const executions = new Map<string, number>();
const attemptsSeen = new Map<string, number[]>();
const timestamps = new Map<string, number[]>();
function ran(key: string): void {
  executions.set(key, (executions.get(key) ?? 0) + 1);
  timestamps.set(key, [...(timestamps.get(key) ?? []), Date.now()]);
}
const count = (key: string) => executions.get(key) ?? 0;

const finishedOrder: string[] = [];
const cancelledRuns: string[] = [];
const failures: { functionId: unknown; message: string; originalEvent: unknown }[] = [];
const active = new Map<string, number>();
const maxActive = new Map<string, number>();

function defineFunctions(executorUrl: string) {
  const client = testClient("conf", executorUrl);
  const plainClient = testClient("conf-plain", executorUrl, { checkpointing: false });

  const tenSteps = (c: typeof client, key: string) =>
    c.createFunction({ id: `ten-steps`, triggers: [{ event: `${key}/ten` }] }, async ({ step }) => {
      let total = 0;
      for (let i = 0; i < 10; i++)
        total += await step.run(`step-${i}`, () => (ran(`${key}:step-${i}`), i));
      return { total };
    });

  const stepTypes = client.createFunction(
    { id: "step-types", triggers: [{ event: "conf/step-types" }] },
    async ({ event, step }) => {
      const value = await step.run(
        "compute",
        () => (ran("types:compute"), { n: (event.data as { n: number }).n * 2 }),
      );
      await step.sleep("short-sleep", "1s");
      await step.sleepUntil("until", new Date(Date.now() + 1000));
      const sent = await step.sendEvent("notify", { name: "conf/notified", data: { n: value.n } });
      const child = await step.invoke("child", { function: childFn, data: { n: value.n } });
      return { value, sentIds: sent.ids.length, child };
    },
  );

  const notified = client.createFunction(
    { id: "on-notified", triggers: [{ event: "conf/notified" }] },
    async ({ event }) => {
      ran("types:notified");
      return { got: (event.data as { n: number }).n };
    },
  );

  const childFn = client.createFunction(
    { id: "child", triggers: [{ event: "conf/child-unused" }] },
    async ({ event, step }) => {
      const doubled = await step.run("double", () => (event.data as { n: number }).n * 2);
      return { doubled };
    },
  );

  const failingChild = client.createFunction(
    { id: "failing-child", retries: 0, triggers: [{ event: "conf/failing-child-unused" }] },
    async () => {
      throw new NonRetriableError("child broke");
    },
  );

  const invokesFailing = client.createFunction(
    { id: "invokes-failing", triggers: [{ event: "conf/invoke-failing" }] },
    async ({ step }) => {
      try {
        await step.invoke("bad-child", { function: failingChild, data: {} });
        return { caught: null };
      } catch (err) {
        return { caught: (err as Error).message };
      }
    },
  );

  const parallel = client.createFunction(
    { id: "parallel", triggers: [{ event: "conf/parallel" }] },
    async ({ step }) => {
      const before = await step.run("before", () => (ran("par:before"), 1));
      const results = await Promise.all(
        ["a", "b", "c"].map((name) =>
          step.run(`branch-${name}`, () => (ran(`par:${name}`), name.toUpperCase())),
        ),
      );
      const after = await step.run("after", () => (ran("par:after"), results.join("")));
      return { before, after };
    },
  );

  const flaky = client.createFunction(
    { id: "flaky", retries: 3, triggers: [{ event: "conf/flaky" }] },
    async ({ step, attempt }) => {
      const result = await step.run("flaky-step", () => {
        ran("flaky:step");
        attemptsSeen.set("flaky", [...(attemptsSeen.get("flaky") ?? []), attempt]);
        if (count("flaky:step") < 3) throw new Error(`boom ${count("flaky:step")}`);
        return "ok";
      });
      return { result };
    },
  );

  const alwaysFails = client.createFunction(
    {
      id: "always-fails",
      retries: 2,
      triggers: [{ event: "conf/always-fails" }],
      onFailure: async ({ event, error }) => {
        failures.push({
          functionId: event.data.function_id,
          message: error.message,
          originalEvent: event.data.event,
        });
      },
    },
    async ({ step }) => {
      await step.run("doomed", () => {
        ran("fails:doomed");
        throw new Error("still broken");
      });
    },
  );

  const nonRetriable = client.createFunction(
    { id: "non-retriable", retries: 5, triggers: [{ event: "conf/non-retriable" }] },
    async ({ step }) => {
      await step.run("refuse", () => {
        ran("nonretriable:refuse");
        throw new NonRetriableError("never again");
      });
    },
  );

  const retryAfter = client.createFunction(
    { id: "retry-after", retries: 2, triggers: [{ event: "conf/retry-after" }] },
    async ({ step }) => {
      return step.run("later", () => {
        ran("retryafter:later");
        if (count("retryafter:later") === 1) throw new RetryAfterError("not yet", 1000);
        return "done";
      });
    },
  );

  const functionLevelError = client.createFunction(
    { id: "fn-error", retries: 2, triggers: [{ event: "conf/fn-error" }] },
    async () => {
      ran("fnerror:body");
      if (count("fnerror:body") === 1) throw new Error("outside any step");
      return "recovered";
    },
  );

  const waiter = client.createFunction(
    { id: "waiter", triggers: [{ event: "conf/wait-start" }] },
    async ({ step }) => {
      const approval = await step.waitForEvent("approval", {
        event: "conf/approved",
        timeout: "30s",
        if: "async.data.x == event.data.x",
      });
      return { approvedBy: approval ? (approval.data as { by: string }).by : null };
    },
  );

  const timeoutWaiter = client.createFunction(
    { id: "timeout-waiter", triggers: [{ event: "conf/wait-timeout" }] },
    async ({ step }) => {
      const result = await step.waitForEvent("never", { event: "conf/never-sent", timeout: "1s" });
      return { result };
    },
  );

  const cancellable = client.createFunction(
    {
      id: "cancellable",
      cancelOn: [{ event: "conf/cancel", if: "async.data.x == event.data.x" }],
      triggers: [{ event: "conf/cancellable" }],
    },
    async ({ step }) => {
      await step.run("first", () => ran("cancel:first"));
      await step.sleep("long", "30s");
      await step.run("second", () => ran("cancel:second"));
      return "finished";
    },
  );

  const keyed = client.createFunction(
    {
      id: "keyed",
      concurrency: { limit: 1, key: "event.data.ownerId" },
      triggers: [{ event: "conf/keyed" }],
    },
    async ({ event, step }) => {
      const owner = (event.data as { ownerId: string }).ownerId;
      await step.run("work", async () => {
        active.set(owner, (active.get(owner) ?? 0) + 1);
        maxActive.set(owner, Math.max(maxActive.get(owner) ?? 0, active.get(owner) ?? 0));
        await new Promise((resolve) => setTimeout(resolve, 150));
        active.set(owner, (active.get(owner) ?? 0) - 1);
      });
      return owner;
    },
  );

  const idempotent = client.createFunction(
    { id: "idempotent", idempotency: "event.data.key", triggers: [{ event: "conf/idem" }] },
    async ({ event }) => {
      ran(`idem:${(event.data as { key: string }).key}`);
      return "once";
    },
  );

  const filtered = client.createFunction(
    { id: "filtered", triggers: [{ event: "conf/filtered", if: "event.data.wanted == true" }] },
    async () => "matched",
  );

  const sleeper = client.createFunction(
    { id: "sleeper", triggers: [{ event: "conf/sleeper" }] },
    async ({ step }) => {
      await step.sleep("forever", "1h");
      return "woke";
    },
  );

  const timed = client.createFunction(
    { id: "timed", timeouts: { finish: "1s" }, triggers: [{ event: "conf/timed" }] },
    async ({ step }) => {
      await step.sleep("long", "30s");
      return "late";
    },
  );

  // One run at a time; the first step is slower than the start timeout.
  const startTimed = client.createFunction(
    {
      id: "start-timed",
      timeouts: { start: "1s" },
      concurrency: { limit: 1 },
      triggers: [{ event: "conf/start-timed" }],
    },
    async ({ step }) => {
      await step.run("slow-first-step", () => new Promise((resolve) => setTimeout(resolve, 2500)));
      return "started in time";
    },
  );

  const onCancelled = client.createFunction(
    {
      id: "on-cancelled",
      triggers: [
        { event: "inngest/function.cancelled", if: "event.data.function_id == 'conf-cancellable'" },
      ],
    },
    async ({ event }) => {
      cancelledRuns.push((event.data as { run_id: string }).run_id);
    },
  );

  const race = client.createFunction(
    { id: "race", triggers: [{ event: "conf/race" }] },
    async ({ step, group }) => {
      const winner = await group.parallel({ mode: "race" }, () =>
        Promise.race([
          step.run("fast", () => "fast"),
          step.run("slow", async () => {
            await new Promise((resolve) => setTimeout(resolve, 3000));
            ran("race:slow-done");
            return "slow";
          }),
        ]),
      );
      await step.run("after-race", () => ran("race:after"));
      return winner;
    },
  );

  const fair = client.createFunction(
    {
      id: "fair",
      concurrency: { limit: 1, key: "event.data.ownerId" },
      triggers: [{ event: "conf/fair" }],
    },
    async ({ event }) => {
      const owner = (event.data as { ownerId: string }).ownerId;
      finishedOrder.push(owner);
      return owner;
    },
  );

  return {
    client,
    plainClient,
    functions: [
      tenSteps(client, "cp"),
      stepTypes,
      notified,
      childFn,
      failingChild,
      invokesFailing,
      parallel,
      flaky,
      alwaysFails,
      nonRetriable,
      retryAfter,
      functionLevelError,
      waiter,
      timeoutWaiter,
      cancellable,
      keyed,
      idempotent,
      filtered,
      sleeper,
      timed,
      startTimed,
      fair,
      onCancelled,
      race,
    ],
    plainFunctions: [tenSteps(plainClient, "plain")],
  };
}

const suite = setupExecutorSuite({
  label: "conf",
  apps: (executorUrl) => {
    const defined = defineFunctions(executorUrl);
    return [
      { client: defined.client, functions: defined.functions },
      { client: defined.plainClient, functions: defined.plainFunctions },
    ];
  },
});

async function runOnce(event: Record<string, unknown>, timeoutMs?: number) {
  const [eventId] = await suite.send(event);
  if (!eventId) throw new Error("no event id returned");
  const [run] = await suite.waitForRuns(eventId, 1, timeoutMs);
  if (!run) throw new Error("no run");
  return run;
}

describe("steps", () => {
  it("runs step.run, sleep, sleepUntil, sendEvent and invoke, each step once", async () => {
    const run = await runOnce({ name: "conf/step-types", data: { n: 21 } });
    expect(run.status).toBe("Completed");
    expect(run.output).toEqual({ value: { n: 42 }, sentIds: 1, child: { doubled: 84 } });
    expect(count("types:compute")).toBe(1);
    await waitFor(
      async () => count("types:notified"),
      (n) => n === 1,
    );
  });

  it("memoizes through checkpoints: a 10-step function completes in one call", async () => {
    const run = await runOnce({ name: "cp/ten" });
    expect(run).toMatchObject({ status: "Completed", output: { total: 45 } });
    for (let i = 0; i < 10; i++) expect(count(`cp:step-${i}`)).toBe(1);
    expect(suite.app.calls.get("conf-ten-steps")).toBe(1);
  });

  it("falls back to one call per step when the SDK's checkpointing is off", async () => {
    const run = await runOnce({ name: "plain/ten" });
    expect(run).toMatchObject({ status: "Completed", output: { total: 45 } });
    for (let i = 0; i < 10; i++) expect(count(`plain:step-${i}`)).toBe(1);
    expect(suite.apps[1]!.calls.get("conf-plain-ten-steps")).toBe(11);
  });

  it("runs parallel steps one by one and resumes after all of them", async () => {
    const run = await runOnce({ name: "conf/parallel" });
    expect(run).toMatchObject({ status: "Completed", output: { before: 1, after: "ABC" } });
    for (const key of ["par:before", "par:a", "par:b", "par:c", "par:after"])
      expect(count(key)).toBe(1);
  });

  it("resumes a group.parallel race as soon as the first branch finishes", async () => {
    const run = await runOnce({ name: "conf/race" });
    expect(run).toMatchObject({ status: "Completed", output: "fast" });
    // The step after the race ran while the losing branch was still running (the SDK ends the
    // run only once every branch has finished), and the run did not spin while it waited.
    expect(count("race:after")).toBe(1);
    expect(timestamps.get("race:after")?.[0]).toBeLessThan(
      timestamps.get("race:slow-done")?.[0] ?? 0,
    );
    expect(suite.app.calls.get("conf-race")).toBeLessThanOrEqual(8);
  });

  it("returns an invoked function's failure to the caller as an error", async () => {
    const run = await runOnce({ name: "conf/invoke-failing" });
    expect(run.status).toBe("Completed");
    expect(run.output).toEqual({ caught: expect.stringContaining("child broke") });
  });

  it("starts runs only for events that pass the trigger expression", async () => {
    const [skipped] = await suite.send({
      name: "conf/filtered",
      data: { wanted: false },
    });
    const run = await runOnce({ name: "conf/filtered", data: { wanted: true } });
    expect(run.output).toBe("matched");
    expect(await suite.runs(skipped ?? "")).toEqual([]);
  });
});

describe("retries and failure", () => {
  it("retries a failing step with backoff until it succeeds, passing the attempt number", async () => {
    const run = await runOnce({ name: "conf/flaky" });
    expect(run).toMatchObject({ status: "Completed", output: { result: "ok" } });
    expect(attemptsSeen.get("flaky")).toEqual([0, 1, 2]);
    // The runs page draws the step with its attempts.
    const page = await (await fetch(suite.executor.url)).text();
    expect(page).toContain(
      'data-step="flaky-step" data-op="StepRun" data-status="completed" data-attempts="3"',
    );
    expect(page).toMatch(/flaky-step: [\d.]+ m?s · 3 attempts/);
  });

  it("fails the run after the last attempt and runs onFailure with the error", async () => {
    const [eventId] = await suite.send({
      name: "conf/always-fails",
      data: { tag: "x" },
    });
    const [run] = await suite.waitForRuns(eventId ?? "");
    expect(run?.status).toBe("Failed");
    expect(count("fails:doomed")).toBe(3);
    await waitFor(
      async () => failures.length,
      (n) => n === 1,
    );
    expect(failures[0]).toMatchObject({
      functionId: "conf-always-fails",
      message: "still broken",
      originalEvent: { name: "conf/always-fails" },
    });
  });

  it("does not retry a NonRetriableError", async () => {
    const run = await runOnce({ name: "conf/non-retriable" });
    expect(run.status).toBe("Failed");
    expect(count("nonretriable:refuse")).toBe(1);
  });

  it("waits as long as a RetryAfterError asks before retrying", async () => {
    const run = await runOnce({ name: "conf/retry-after" });
    expect(run).toMatchObject({ status: "Completed", output: "done" });
    const [first, second] = timestamps.get("retryafter:later") ?? [];
    expect((second ?? 0) - (first ?? 0)).toBeGreaterThanOrEqual(900);
  });

  it("retries an error thrown outside any step", async () => {
    const run = await runOnce({ name: "conf/fn-error" });
    expect(run).toMatchObject({ status: "Completed", output: "recovered" });
    expect(count("fnerror:body")).toBe(2);
  });
});

describe("waitForEvent", () => {
  it("resumes only on an event matching the if expression", async () => {
    const [eventId] = await suite.send({
      name: "conf/wait-start",
      data: { x: 7 },
    });
    await waitFor(
      () => fetch(`${suite.executor.url}/`).then((res) => res.text()),
      (html) => html.includes("approval"),
    );
    await suite.send({ name: "conf/approved", data: { x: 8, by: "wrong" } });
    await suite.send({ name: "conf/approved", data: { x: 7, by: "alice" } });
    const [run] = await suite.waitForRuns(eventId ?? "");
    expect(run).toMatchObject({ status: "Completed", output: { approvedBy: "alice" } });
  });

  it("returns null when the wait times out", async () => {
    const run = await runOnce({ name: "conf/wait-timeout" });
    expect(run).toMatchObject({ status: "Completed", output: { result: null } });
  });
});

describe("flow control", () => {
  it("cancels a run on a matching cancelOn event only", async () => {
    const [keep] = await suite.send({
      name: "conf/cancellable",
      data: { x: 1 },
    });
    const [drop] = await suite.send({
      name: "conf/cancellable",
      data: { x: 2 },
    });
    await waitFor(
      async () => count("cancel:first"),
      (n) => n === 2,
    );
    await suite.send({ name: "conf/cancel", data: { x: 2 } });
    const [cancelled] = await suite.waitForRuns(drop ?? "");
    expect(cancelled?.status).toBe("Cancelled");
    const [stillRunning] = await suite.runs(keep ?? "");
    expect(stillRunning?.status).toBe("Running");
    const res = await fetch(`${suite.executor.url}/v1/runs/${stillRunning?.run_id}`, {
      method: "DELETE",
    });
    expect(res.status).toBe(200);
    const [afterApiCancel] = await suite.waitForRuns(keep ?? "");
    expect(afterApiCancel?.status).toBe("Cancelled");
    expect(count("cancel:second")).toBe(0);
    // Each cancellation emits inngest/function.cancelled, which can trigger functions.
    await waitFor(
      async () => [...cancelledRuns].sort(),
      (ids) => ids.length === 2,
    );
    expect([...cancelledRuns].sort()).toEqual([cancelled?.run_id, afterApiCancel?.run_id].sort());
  });

  it("limits concurrency per key", async () => {
    const ids = await suite.send([
      { name: "conf/keyed", data: { ownerId: "a" } },
      { name: "conf/keyed", data: { ownerId: "a" } },
      { name: "conf/keyed", data: { ownerId: "a" } },
      { name: "conf/keyed", data: { ownerId: "b" } },
      { name: "conf/keyed", data: { ownerId: "b" } },
    ]);
    for (const id of ids) expect((await suite.waitForRuns(id))[0]?.status).toBe("Completed");
    expect(maxActive.get("a")).toBe(1);
    expect(maxActive.get("b")).toBe(1);
  });

  it("cancels a run that exceeds its finish timeout", async () => {
    const run = await runOnce({ name: "conf/timed" });
    expect(run.status).toBe("Cancelled");
    expect(run.error?.message).toContain("finish timeout");
  });

  it("cancels a run that waits past its start timeout, but never one that has started", async () => {
    // The first run starts at once and its first step outlasts the start timeout: it must finish.
    // The second waits behind it (concurrency 1) for longer than the timeout: it never starts.
    const [first, second] = await suite.send([
      { name: "conf/start-timed" },
      { name: "conf/start-timed" },
    ]);
    const [startedRun] = await suite.waitForRuns(first ?? "", 1, 20_000);
    const [waitingRun] = await suite.waitForRuns(second ?? "", 1, 20_000);
    const outcomes = [startedRun, waitingRun].map((run) => run?.status).sort();
    expect(outcomes).toEqual(["Cancelled", "Completed"]);
    const cancelled = [startedRun, waitingRun].find((run) => run?.status === "Cancelled");
    expect(cancelled?.error?.message).toContain("start timeout");
  });

  it("does not let a backlog on one concurrency key hold up other keys", async () => {
    const backlog = Array.from({ length: 220 }, () => ({
      name: "conf/fair",
      data: { ownerId: "hog" },
    }));
    await suite.send(backlog);
    const [other] = await suite.send({
      name: "conf/fair",
      data: { ownerId: "other" },
    });
    await suite.waitForRuns(other ?? "", 1, 30_000);
    expect(finishedOrder.indexOf("other")).toBeLessThan(10);
    await waitFor(
      async () => finishedOrder.length,
      (n) => n === 221,
      60_000,
    );
  });

  it("starts one run per idempotency key", async () => {
    const first = await runOnce({ name: "conf/idem", data: { key: "k1" } });
    const [second] = await suite.send({
      name: "conf/idem",
      data: { key: "k1" },
    });
    const other = await runOnce({ name: "conf/idem", data: { key: "k2" } });
    expect(first.status).toBe("Completed");
    expect(other.status).toBe("Completed");
    expect(await suite.runs(second ?? "")).toEqual([]);
    expect(count("idem:k1")).toBe(1);
    const batch = await suite.send([
      { name: "conf/idem", data: { key: "k3" } },
      { name: "conf/idem", data: { key: "k3" } },
    ]);
    const runs = await Promise.all(batch.map((id) => suite.runs(id)));
    expect(runs.flat()).toHaveLength(1);
    await waitFor(
      async () => count("idem:k3"),
      (n) => n === 1,
    );
  });
});

describe("app sync", () => {
  it("accepts an app that registers itself when its serve endpoint gets a PUT", async () => {
    const client = testClient("conf-oob", suite.executor.url);
    const fn = client.createFunction(
      { id: "self-synced", triggers: [{ event: "conf/oob" }] },
      async () => "synced out of band",
    );
    const oobApp = await startTestApp(client, [fn]);
    try {
      const res = await fetch(oobApp.url, { method: "PUT" });
      expect(res.status).toBe(200);
      const run = await runOnce({ name: "conf/oob" });
      expect(run).toMatchObject({ status: "Completed", output: "synced out of band" });
    } finally {
      await oobApp.stop();
    }
  });
});

describe("event API and REST API", () => {
  it("deduplicates events by id and answers with the ids", async () => {
    const first = await suite.send({
      id: "fixed-event-id-1",
      name: "conf/idem",
      data: { key: "dedupe" },
    });
    const again = await suite.send({
      id: "fixed-event-id-1",
      name: "conf/idem",
      data: { key: "dedupe" },
    });
    expect(first).toEqual(["fixed-event-id-1"]);
    expect(again).toEqual(["fixed-event-id-1"]);
    const runs = await suite.waitForRuns("fixed-event-id-1");
    expect(runs).toHaveLength(1);
    expect(count("idem:dedupe")).toBe(1);
  });

  it("gives a retried SDK send (same id seed) the same ids, so it is not stored twice", async () => {
    const seed = `${Date.now()},c2VlZHNlZWQ=`;
    const send = () =>
      fetch(`${suite.executor.url}/e/key`, {
        method: "POST",
        headers: { "x-inngest-event-id-seed": seed },
        body: JSON.stringify([
          { name: "conf/unrouted", data: {} },
          { name: "conf/unrouted", data: {} },
        ]),
      }).then((res) => res.json() as Promise<{ ids: string[] }>);
    const first = await send();
    const retried = await send();
    expect(first.ids).toHaveLength(2);
    expect(new Set(first.ids).size).toBe(2);
    expect(retried.ids).toEqual(first.ids);
  });

  it("answers a checkpoint from a stale or unknown dispatch with 409", async () => {
    const res = await fetch(`${suite.executor.url}/v1/checkpoint/no-such-run/async`, {
      method: "POST",
      body: JSON.stringify({
        run_id: "no-such-run",
        fn_id: "x",
        qi_id: "1:stale",
        steps: [{ id: "s", op: "StepRun", data: 1 }],
      }),
    });
    expect(res.status).toBe(409);
  });

  it("rejects an invalid event with 400", async () => {
    const res = await fetch(`${suite.executor.url}/e/key`, {
      method: "POST",
      body: JSON.stringify({ data: {} }),
    });
    expect(res.status).toBe(400);
  });

  it("shows a run, cancels it through the API and lists it on the page", async () => {
    const [eventId] = await suite.send({ name: "conf/sleeper" });
    const [running] = await waitFor(
      () => suite.runs(eventId ?? ""),
      (runs) => runs.length === 1,
    );
    const one = (await (
      await fetch(`${suite.executor.url}/v1/runs/${running?.run_id}`)
    ).json()) as {
      data: { status: string; function_id: string };
    };
    expect(one.data).toMatchObject({ status: "Running", function_id: "conf-sleeper" });
    await fetch(`${suite.executor.url}/v1/runs/${running?.run_id}/cancel`, { method: "POST" });
    const [cancelled] = await suite.waitForRuns(eventId ?? "");
    expect(cancelled?.status).toBe("Cancelled");
    const html = await (await fetch(`${suite.executor.url}/`)).text();
    expect(html).toContain(running?.run_id);
    expect(html).toContain("conf-sleeper");
    expect((await fetch(`${suite.executor.url}/v1/runs/nope`)).status).toBe(404);
  });
});
