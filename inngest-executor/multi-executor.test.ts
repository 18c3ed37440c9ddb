/**
 * Several executor processes on one database share the work safely: jobs are
 * leased with SKIP LOCKED and each run's changes happen under its row lock, so
 * every run completes and, with nothing crashing, every step runs exactly once.
 */
import pg from "pg";
import { expect, it } from "vitest";
import { databaseUrl, sendEvent, testClient, waitForRuns } from "./testing/helpers";
import { setupExecutorSuite } from "./testing/suite";

const executions = new Map<string, number>();

const suite = setupExecutorSuite({
  label: "multi",
  executors: 3,
  apps: (executorUrl) => {
    const client = testClient("multi", executorUrl);
    const fn = client.createFunction(
      { id: "shared", triggers: [{ event: "multi/go" }] },
      async ({ event, step }) => {
        const n = (event.data as { n: number }).n;
        const parts = await Promise.all(
          ["x", "y"].map((part) =>
            step.run(`part-${part}`, () => {
              executions.set(`${n}:${part}`, (executions.get(`${n}:${part}`) ?? 0) + 1);
              return part;
            }),
          ),
        );
        await step.run("final", () =>
          executions.set(`${n}:final`, (executions.get(`${n}:final`) ?? 0) + 1),
        );
        return parts.join("") + n;
      },
    );
    return [{ client, functions: [fn] }];
  },
});

it("completes every run exactly once when three executors share the queue", async () => {
  const events = Array.from({ length: 30 }, (_, n) => ({ name: "multi/go", data: { n } }));
  // Events arrive through different executors, as behind a load balancer.
  const ids = (
    await Promise.all(
      events.map((event, i) =>
        sendEvent(suite.executors[i % suite.executors.length]?.url ?? "", event),
      ),
    )
  ).flat();
  for (const [n, id] of ids.entries()) {
    const [run] = await waitForRuns(suite.executors[0]?.url ?? "", id, 1, 30_000);
    expect(run).toMatchObject({ status: "Completed", output: `xy${n}` });
  }
  for (let n = 0; n < events.length; n++) {
    for (const part of ["x", "y", "final"])
      expect(executions.get(`${n}:${part}`), `${n}:${part}`).toBe(1);
  }
});

it("keeps working after Postgres drops all of its connections", async () => {
  const admin = new pg.Client({ connectionString: databaseUrl() });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ n: number }>(
      "SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1",
      [`inngest-executor:${suite.schema}`],
    );
    expect(rows[0]?.n).toBeGreaterThan(0);
  } finally {
    await admin.end();
  }
  const ids = (
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        sendEvent(suite.executors[i % 3]?.url ?? "", { name: "multi/go", data: { n: 100 + i } }),
      ),
    )
  ).flat();
  for (const [i, id] of ids.entries()) {
    const [run] = await waitForRuns(suite.executors[0]?.url ?? "", id, 1, 30_000);
    expect(run).toMatchObject({ status: "Completed", output: `xy${100 + i}` });
  }
}, 60_000);
