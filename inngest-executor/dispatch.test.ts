/**
 * Dispatch on event arrival: the executor that accepts an event leases the
 * new runs' first calls in the same transaction and sends them as soon as it
 * commits, but never beyond its worker capacity; the rest wait on the queue
 * for any executor.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Executor } from "./index";
import {
  dropSchema,
  sendEvent,
  startTestApp,
  startTestExecutor,
  testClient,
  testSchema,
  waitForRuns,
  type TestApp,
} from "./testing/helpers";

const schema = testSchema("dispatch");
let executor: Executor;
let app: TestApp;
let active = 0;
let maxActive = 0;
const executions = new Map<string, number>();

beforeAll(async () => {
  executor = await startTestExecutor({ schema, workerConcurrency: 2 });
  const client = testClient("dispatch", executor.url);
  const fn = client.createFunction(
    { id: "slow", triggers: [{ event: "dispatch/go" }] },
    async ({ event, step }) => {
      const n = (event.data as { n: number }).n;
      await step.run("hold", async () => {
        executions.set(`${n}:hold`, (executions.get(`${n}:hold`) ?? 0) + 1);
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise((resolve) => setTimeout(resolve, 150));
        active--;
      });
      return n;
    },
  );
  app = await startTestApp(client, [fn]);
  await executor.sync(app.url);
});

afterAll(async () => {
  await app?.stop();
  await executor?.stop();
  await dropSchema(schema);
});

it("starts new runs at once but never more than its worker capacity; the rest queue and complete", async () => {
  const ids = await sendEvent(
    executor.url,
    Array.from({ length: 6 }, (_, n) => ({ name: "dispatch/go", data: { n } })),
  );
  for (const [n, id] of ids.entries()) {
    const [run] = await waitForRuns(executor.url, id, 1, 20_000);
    expect(run).toMatchObject({ status: "Completed", output: n });
    expect(executions.get(`${n}:hold`)).toBe(1);
  }
  expect(maxActive).toBe(2);
});
