/**
 * Dispatch on event arrival: the executor that accepts an event leases the
 * new runs' first calls in the same transaction and sends them as soon as it
 * commits, but never beyond its worker capacity; the rest wait on the queue
 * for any executor.
 */
import { expect, it } from "vitest";
import { testClient } from "./testing/helpers";
import { setupExecutorSuite } from "./testing/suite";

let active = 0;
let maxActive = 0;
const executions = new Map<string, number>();

const suite = setupExecutorSuite({
  label: "dispatch",
  executorOptions: { workerConcurrency: 2 },
  apps: (executorUrl) => {
    const client = testClient("dispatch", executorUrl);
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
    return [{ client, functions: [fn] }];
  },
});

it("starts new runs at once but never more than its worker capacity; the rest queue and complete", async () => {
  const ids = await suite.send(
    Array.from({ length: 6 }, (_, n) => ({ name: "dispatch/go", data: { n } })),
  );
  for (const [n, id] of ids.entries()) {
    const [run] = await suite.waitForRuns(id, 1, 20_000);
    expect(run).toMatchObject({ status: "Completed", output: n });
    expect(executions.get(`${n}:hold`)).toBe(1);
  }
  expect(maxActive).toBe(2);
});
