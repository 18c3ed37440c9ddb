/**
 * Cron triggers and singleton across restarts and across executors sharing
 * one schema, through the unmodified SDK: a cron's next tick is kept in
 * Postgres (a restarted executor fires it without a new sync) and each tick
 * starts one run however many executors run; a singleton key admits one
 * running run whichever executor takes the event, and still does after the
 * executor that started it stopped.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import type { Executor } from "./index";
import {
  dropSchema,
  runsForEvent,
  sendEvent,
  startTestApp,
  startTestExecutor,
  testClient,
  testSchema,
  waitFor,
  waitForRuns,
  type TestApp,
} from "./testing/helpers";

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function executorOn(schema: string): Promise<Executor> {
  const executor = await startTestExecutor({ schema });
  let stopped = false;
  cleanups.push(async () => {
    if (!stopped) await executor.stop();
  });
  return {
    ...executor,
    stop: async () => {
      stopped = true;
      await executor.stop();
    },
  };
}

describe("cron", () => {
  const schema = testSchema("cron");
  /** The tick (event ts) of each step execution, with its run and the event it got. */
  const ticks: { ts: number; runId: string; name: string; cron: unknown }[] = [];
  let app: TestApp;

  it("starts a run per tick of a TZ-prefixed schedule with the scheduled event", async () => {
    cleanups.push(() => dropSchema(schema));
    const first = await executorOn(schema);
    const client = testClient("cron", first.url);
    const fn = client.createFunction(
      { id: "every-second", triggers: [{ cron: "TZ=Europe/Paris * * * * * *" }] },
      async ({ event, step, runId }) => {
        await step.run("tick", () =>
          ticks.push({
            ts: event.ts ?? 0,
            runId,
            name: event.name,
            cron: (event.data as { cron?: string }).cron,
          }),
        );
      },
    );
    app = await startTestApp(client, [fn]);
    cleanups.push(() => app.stop());
    await first.sync(app.url);
    await waitFor(
      async () => ticks.length,
      (n) => n >= 2,
    );
    expect(ticks[0]).toMatchObject({
      name: "inngest/scheduled.timer",
      cron: "TZ=Europe/Paris * * * * * *",
    });
    expect(ticks.every((tick) => tick.ts % 1000 === 0)).toBe(true);

    // Restart: a new executor on the schema, never synced, keeps the schedule.
    await first.stop();
    const before = ticks.length;
    await sleep(1200);
    const second = await executorOn(schema);
    await waitFor(
      async () => ticks.length,
      (n) => n >= before + 2,
    );
    // And a second executor beside it: each tick still starts one run.
    const third = await executorOn(schema);
    const withTwo = ticks.length;
    await waitFor(
      async () => ticks.length,
      (n) => n >= withTwo + 3,
      20_000,
    );
    await sleep(1500);
    // One run per tick. (A step in flight when an executor stops may run again in its run: at least once.)
    const runsPerTick = new Map<number, Set<string>>();
    for (const tick of ticks)
      runsPerTick.set(tick.ts, (runsPerTick.get(tick.ts) ?? new Set()).add(tick.runId));
    expect([...runsPerTick.values()].map((runs) => runs.size)).toEqual(
      [...runsPerTick.keys()].map(() => 1),
    );
    expect(runsPerTick.size).toBeGreaterThanOrEqual(7);
    await Promise.all([second.stop(), third.stop()]);
  }, 60_000);
});

describe("cron with singleton", () => {
  const schema = testSchema("cron_single");
  const spans: { start: number; end: number }[] = [];

  it("skips a tick while the previous tick's run still runs", async () => {
    cleanups.push(() => dropSchema(schema));
    const executor = await executorOn(schema);
    const client = testClient("cron-single", executor.url);
    const fn = client.createFunction(
      {
        id: "slow-tick",
        singleton: { mode: "skip" },
        triggers: [{ cron: "* * * * * *" }],
      },
      async ({ step }) => {
        await step.run("work", async () => {
          const start = Date.now();
          await sleep(1600);
          spans.push({ start, end: Date.now() });
        });
      },
    );
    const app = await startTestApp(client, [fn]);
    cleanups.push(() => app.stop());
    await executor.sync(app.url);
    await waitFor(
      async () => spans.length,
      (n) => n >= 2,
      20_000,
    );
    await executor.stop();
    const sorted = [...spans].sort((a, b) => a.start - b.start);
    for (let i = 1; i < sorted.length; i++)
      expect(sorted[i]?.start ?? 0).toBeGreaterThanOrEqual(sorted[i - 1]?.end ?? Infinity);
    // NOTE: this stop used to hang (2 runs in 6 here) while the cron kept starting calls whose
    // SDK answered over a kept-alive connection; the executor now stops its engine first.
  }, 40_000);
});

describe("singleton across executors", () => {
  const schema = testSchema("single");
  let starts = 0;

  it("admits one running run per key whichever executor takes the event, also after a restart", async () => {
    cleanups.push(() => dropSchema(schema));
    const [a, b] = [await executorOn(schema), await executorOn(schema)];
    const client = testClient("single", a.url);
    const fn = client.createFunction(
      {
        id: "one-at-a-time",
        singleton: { key: "event.data.k", mode: "skip" },
        triggers: [{ event: "single/go" }],
      },
      async ({ step }) => {
        await step.run("hold", async () => {
          starts++;
          await sleep(1500);
        });
      },
    );
    const app = await startTestApp(client, [fn]);
    cleanups.push(() => app.stop());
    await a.sync(app.url);
    const ids = (
      await Promise.all(
        Array.from({ length: 6 }, (_, n) =>
          sendEvent((n % 2 ? a : b).url, { name: "single/go", data: { k: "x", n } }),
        ),
      )
    ).flat();
    await waitFor(
      async () => starts,
      (n) => n >= 1,
    );
    const counts = async (eventIds: string[]) =>
      Promise.all(eventIds.map(async (id) => (await runsForEvent(a.url, id)).length));
    expect((await counts(ids)).reduce((sum, n) => sum + n, 0)).toBe(1);

    // The executor that runs it stops; the run still holds the key for the one that remains.
    const running = ids[(await counts(ids)).indexOf(1)] ?? "";
    await waitFor(
      async () => (await runsForEvent(a.url, running))[0]?.status,
      (status) => status === "Completed",
      20_000,
    );
    // A run started through `a` (the executor that takes an event starts its run), then `a` stops
    // mid-step: the run still holds the key for `b`, which finishes it.
    const [late = ""] = await sendEvent(a.url, { name: "single/go", data: { k: "x", n: 10 } });
    await waitFor(
      async () => starts,
      (n) => n >= 2,
    );
    await a.stop();
    const [skipped = ""] = await sendEvent(b.url, { name: "single/go", data: { k: "x", n: 11 } });
    const [run] = await waitForRuns(b.url, late, 1, 30_000);
    expect(run?.status).toBe("Completed");
    expect(
      await Promise.all([skipped].map(async (id) => (await runsForEvent(b.url, id)).length)),
    ).toEqual([0]);
  }, 60_000);
});
