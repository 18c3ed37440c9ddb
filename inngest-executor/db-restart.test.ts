/**
 * A PostgreSQL restart under a running call: the executor reaches the
 * database through a proxy that cuts every connection and refuses new ones
 * for longer than a quick retry covers, while the app is inside a step. When
 * the database is back the run resumes at once, not when the call's lease
 * expires (half an hour); after a short outage the call's result is applied
 * once the database is back, so its step does not run again.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Executor } from "./index";
import {
  databaseUrl,
  dropSchema,
  sendEvent,
  startTestApp,
  startTestExecutor,
  testClient,
  testSchema,
  waitForRuns,
  type TestApp,
} from "./testing/helpers";
import { hostOf, startTcpProxy, type TcpProxy } from "@/test/tcp-proxy";

const schema = testSchema("db_restart");
let proxy: TcpProxy;
let executor: Executor;
let app: TestApp;
let entered: () => void = () => undefined;
let slowRuns = 0;

beforeAll(async () => {
  proxy = await startTcpProxy(hostOf(databaseUrl()));
  executor = await startTestExecutor({ schema, databaseUrl: proxy.urlFor(databaseUrl()) });
  const client = testClient("db-restart", executor.url);
  const fn = client.createFunction(
    { id: "slow-step", triggers: [{ event: "db/slow-step" }], retries: 3 },
    async ({ step }) => {
      const first = await step.run("slow", async () => {
        slowRuns++;
        entered();
        await sleep(1500);
        return 1;
      });
      const second = await step.run("quick", () => 2);
      return first + second;
    },
  );
  app = await startTestApp(client, [fn]);
  await executor.sync(app.url);
});

afterAll(async () => {
  await proxy?.restore();
  await app?.stop();
  await executor?.stop();
  await proxy?.close();
  await dropSchema(schema);
});

it("resumes a run as soon as the database is back when its call ended while it was away", async () => {
  const inStep = new Promise<void>((resolve) => (entered = resolve));
  const [eventId] = await sendEvent(executor.url, { name: "db/slow-step", data: {} });
  await inStep;
  await proxy.cut();
  // Longer than the step, and longer than the executor's transactions wait for the database.
  await sleep(18_000);
  await proxy.restore();
  const back = Date.now();
  const [run] = await waitForRuns(executor.url, eventId!, 1, 30_000);
  expect(run).toMatchObject({ status: "Completed", output: 3 });
  expect(Date.now() - back).toBeLessThan(20_000);
}, 90_000);

it("applies a call's result once a short outage is over, without running its step again", async () => {
  slowRuns = 0;
  const inStep = new Promise<void>((resolve) => (entered = resolve));
  const [eventId] = await sendEvent(executor.url, { name: "db/slow-step", data: {} });
  await inStep;
  await proxy.cut();
  await sleep(3000);
  await proxy.restore();
  const [run] = await waitForRuns(executor.url, eventId!, 1, 30_000);
  expect(run).toMatchObject({ status: "Completed", output: 3 });
  expect(slowRuns).toBe(1);
}, 60_000);
