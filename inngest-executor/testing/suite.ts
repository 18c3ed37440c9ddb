/**
 * The setup every executor suite shares, as Vitest hooks: executors on a
 * schema of the suite's own, the apps they run (each synced through the first
 * executor), and, after the file's tests, everything stopped and the schema
 * dropped. Read the executors and apps from the returned object inside tests
 * (they exist once `beforeAll` has run).
 */
import type { Inngest, InngestFunction } from "inngest";
import { afterAll, beforeAll } from "vitest";
import type { Executor, ExecutorOptions } from "../index";
import {
  dropSchema,
  runsForEvent,
  sendEvent,
  startTestApp,
  startTestExecutor,
  testSchema,
  waitForRuns,
  type RunView,
  type TestApp,
} from "./helpers";

export interface SuiteOptions {
  /** Names the schema (`inngest_executor_t_<label>_…`). */
  label: string;
  /** How many executors share the schema (default 1). */
  executors?: number;
  executorOptions?: Partial<ExecutorOptions>;
  /** The apps to serve, defined against the first executor's URL. */
  apps: (executorUrl: string) => { client: Inngest.Any; functions: InngestFunction.Any[] }[];
}

export interface ExecutorSuite {
  readonly schema: string;
  /** The first executor. */
  readonly executor: Executor;
  readonly executors: readonly Executor[];
  /** The first app. */
  readonly app: TestApp;
  readonly apps: readonly TestApp[];
  /** `sendEvent`, `runsForEvent` and `waitForRuns` through the first executor. */
  send(event: Record<string, unknown> | Record<string, unknown>[]): Promise<string[]>;
  runs(eventId: string): Promise<RunView[]>;
  waitForRuns(eventId: string, count?: number, timeoutMs?: number): Promise<RunView[]>;
}

export function setupExecutorSuite(options: SuiteOptions): ExecutorSuite {
  const schema = testSchema(options.label);
  const executors: Executor[] = [];
  const apps: TestApp[] = [];
  beforeAll(async () => {
    for (let i = 0; i < (options.executors ?? 1); i++)
      executors.push(await startTestExecutor({ ...options.executorOptions, schema }));
    const first = executors[0]!;
    for (const { client, functions } of options.apps(first.url)) {
      const app = await startTestApp(client, functions);
      apps.push(app);
      await first.sync(app.url);
    }
  });
  afterAll(async () => {
    for (const app of apps) await app.stop();
    for (const executor of executors) await executor.stop();
    await dropSchema(schema);
  });
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`no ${what}: read it inside a test`);
    return value;
  };
  const first = () => started(executors[0], "executor");
  return {
    schema,
    get executor() {
      return first();
    },
    executors,
    get app() {
      return started(apps[0], "app");
    },
    apps,
    send: (event) => sendEvent(first().url, event),
    runs: (eventId) => runsForEvent(first().url, eventId),
    waitForRuns: (eventId, count, timeoutMs) => waitForRuns(first().url, eventId, count, timeoutMs),
  };
}
