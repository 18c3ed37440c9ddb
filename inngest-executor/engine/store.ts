/**
 * The engine's access to Postgres: the pool, schema-qualified names, hot
 * statements prepared once per connection, and transactions that retry on
 * deadlocks and dropped connections and can run hooks when they end.
 */
import { createHash } from "node:crypto";
import pg from "pg";
import { schemaIdent } from "../schema";
import { delay, type RunRow } from "./types";

export type Tx = pg.PoolClient;

const CONNECTION_ERROR_CODES = new Set(["57P01", "57P02", "57P03", "08000", "08003", "08006"]);
/**
 * Waits before repeating a transaction whose connection was lost or refused: about 15 s in
 * all, in short steps, so work resumes within a fraction of a second of the database's return.
 */
const CONNECTION_RETRY_DELAYS_MS = [0, 100, 200, ...Array<number>(48).fill(300)];

export class Store {
  readonly pool: pg.Pool;
  /** The error that ended each pooled connection that has lost its server. */
  private readonly lostConnections = new WeakMap<pg.ClientBase, Error>();
  /** The quoted schema name, to prefix every table: `${store.s}.runs`. */
  readonly s: string;
  /** Names this executor's connections in pg_stat_activity. */
  readonly applicationName: string;
  /** Callbacks to run when a transaction ends (committed or not). */
  private readonly txEndHooks = new WeakMap<Tx, ((committed: boolean) => void)[]>();
  /** Prepared-statement names, so Postgres parses and plans the hot statements once per connection. */
  private readonly statementNames = new Map<string, string>();

  constructor(
    readonly databaseUrl: string,
    readonly schema: string,
    log: (line: string) => void,
  ) {
    this.applicationName = `inngest-executor:${schema}`;
    this.pool = new pg.Pool({
      connectionString: databaseUrl,
      max: 12,
      application_name: this.applicationName,
    });
    this.pool.on("error", (err) => log(`db pool error: ${err.message}`));
    // NOTE: pg-pool takes its own error listener off a client as it hands it out, in the tick that
    // parsed the connection's latest bytes. A FATAL in the same chunk (PostgreSQL shutting down just
    // as it accepted the connection) is then emitted before the caller's `await` resumes, and an
    // 'error' event nobody listens to crashes the process: the executor died so in a chaos run. So
    // every client listens from the moment it connects, and `transaction` asks here what it lost.
    this.pool.on("connect", (client) => {
      client.on("error", (err) => this.lostConnections.set(client, err));
    });
    this.s = schemaIdent(schema);
  }

  /** A query as a named prepared statement: Postgres parses and plans it once per connection. */
  query<R extends pg.QueryResultRow>(
    client: pg.Pool | Tx,
    text: string,
    values: unknown[],
  ): Promise<pg.QueryResult<R>> {
    let name = this.statementNames.get(text);
    if (!name) {
      name = `ie_${createHash("sha1").update(text).digest("hex").slice(0, 20)}`;
      this.statementNames.set(text, name);
    }
    return client.query<R>({ name, text, values });
  }

  /**
   * `query` on the pool for a statement that is safe to repeat (it checks the lease itself),
   * repeated with backoff while the connection is lost, as `transaction` does.
   */
  async repeatableQuery<R extends pg.QueryResultRow>(
    text: string,
    values: unknown[],
  ): Promise<pg.QueryResult<R>> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.query<R>(this.pool, text, values);
      } catch (err) {
        if (!isConnectionError(err) || attempt >= CONNECTION_RETRY_DELAYS_MS.length) throw err;
        await delay(CONNECTION_RETRY_DELAYS_MS[attempt]!);
      }
    }
  }

  async lockRun(tx: Tx, runId: string): Promise<RunRow | undefined> {
    const { rows } = await tx.query<RunRow>(
      `SELECT * FROM ${this.s}.runs WHERE id = $1 FOR UPDATE`,
      [runId],
    );
    return rows[0];
  }

  /** Runs `callback` when the transaction `tx` ends: after its COMMIT, or with false if it rolled back. */
  afterTransaction(tx: Tx, callback: (committed: boolean) => void): void {
    const hooks = this.txEndHooks.get(tx);
    if (!hooks) throw new Error("afterTransaction called outside a transaction");
    hooks.push(callback);
  }

  /** Runs fn in a transaction, retrying on deadlocks and serialization failures. */
  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let client: Tx;
      try {
        client = await this.pool.connect();
      } catch (err) {
        if (!isConnectionError(err) || attempt >= CONNECTION_RETRY_DELAYS_MS.length) throw err;
        await delay(CONNECTION_RETRY_DELAYS_MS[attempt]!);
        continue;
      }
      const lost = () => this.lostConnections.get(client);
      const hooks: ((committed: boolean) => void)[] = [];
      this.txEndHooks.set(client, hooks);
      const end = (committed: boolean) => {
        this.txEndHooks.delete(client);
        for (const hook of hooks) hook(committed);
      };
      try {
        await client.query("BEGIN");
        const result = await fn(client);
        await client.query("COMMIT");
        end(true);
        return result;
      } catch (err) {
        // NOTE: a COMMIT that failed on a dropped connection may still have committed; hooks then see
        // false, and what they would have started is recovered like any lease of a stopped worker.
        end(false);
        if (!lost()) await client.query("ROLLBACK").catch(() => undefined);
        const code = (err as { code?: string }).code;
        if ((code === "40P01" || code === "40001") && attempt < 5) continue;
        // A dropped connection rolled the transaction back (or, at COMMIT, maybe not: every
        // transaction here is safe to repeat, as leases and memoized results are checked first).
        // NOTE: with backoff, for as long as a PostgreSQL restart takes: a call's result applied
        // once the database is back is a step that need not run again.
        if ((lost() || isConnectionError(err)) && attempt < CONNECTION_RETRY_DELAYS_MS.length) {
          await delay(CONNECTION_RETRY_DELAYS_MS[attempt]!);
          continue;
        }
        throw err;
      } finally {
        client.release(lost());
      }
    }
  }
}

function isConnectionError(err: unknown): boolean {
  const { code, message } = err as { code?: string; message?: string };
  return (
    (code !== undefined && CONNECTION_ERROR_CODES.has(code)) ||
    /Connection terminated|not queryable|ECONNRESET|ECONNREFUSED/.test(message ?? "")
  );
}
