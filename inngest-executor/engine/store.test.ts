/**
 * A connection PostgreSQL ends just after accepting it (a restart beginning):
 * the FATAL arrives in the same chunk as the ReadyForQuery that hands the
 * connection to the caller, so it is emitted before any `await` resumes. The
 * store's transactions must survive it (retry on a new connection), not crash
 * the executor with an unhandled 'error' event, as one did in a chaos run.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { databaseUrl, testSchema } from "../testing/helpers";
import { Store } from "./store";
import { hostOf, startTcpProxy, type TcpProxy } from "@/test/tcp-proxy";

let proxy: TcpProxy;
let store: Store;
const logged: string[] = [];

beforeAll(async () => {
  proxy = await startTcpProxy(hostOf(databaseUrl()));
  store = new Store(proxy.urlFor(databaseUrl()), testSchema("store"), (line) => logged.push(line));
});

afterAll(async () => {
  await store?.pool.end();
  await proxy?.close();
});

it("retries a transaction whose new connection is ended as it is handed out", async () => {
  proxy.terminateAfterStartup(2);
  const { rows } = await store.transaction((tx) => tx.query<{ one: number }>("SELECT 1 AS one"));
  expect(rows).toEqual([{ one: 1 }]);
  // Both ended connections were dropped from the pool: the next transactions run on a live one.
  const again = await store.transaction((tx) => tx.query<{ two: number }>("SELECT 2 AS two"));
  expect(again.rows).toEqual([{ two: 2 }]);
  expect(store.pool.totalCount).toBe(1);
});
