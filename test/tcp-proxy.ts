/**
 * A loopback TCP proxy in front of a server (PostgreSQL here) that a test can
 * take down and bring back, as a database restart looks to its clients: every
 * open connection is cut and new ones are refused until `restore()`.
 */
import net from "node:net";

export interface TcpProxy {
  port: number;
  /** `url` with its host and port replaced by the proxy's. */
  urlFor(url: string): string;
  /** Cuts every connection and refuses new ones (the port is closed). */
  cut(): Promise<void>;
  /** Accepts connections again, on the same port. */
  restore(): Promise<void>;
  /**
   * The next `count` new connections are ended by the server as soon as they
   * are ready: their first ReadyForQuery and a FATAL "terminating connection
   * due to administrator command" (57P01) arrive in one chunk, as when
   * PostgreSQL shuts down just after it accepted a connection.
   */
  terminateAfterStartup(count: number): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let port = 0;
  let toTerminate = 0;

  const listen = async () => {
    const listening = net.createServer((client) => {
      const upstream = net.connect(target.port, target.host);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
        socket.on("error", () => undefined);
      }
      client.pipe(upstream);
      if (toTerminate > 0) {
        toTerminate--;
        endAfterReady(upstream, client);
      } else upstream.pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      listening.once("error", reject);
      listening.listen(port, "127.0.0.1", () => resolve());
    });
    port = (listening.address() as net.AddressInfo).port;
    server = listening;
  };
  const cut = async () => {
    const closing = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    if (closing) await new Promise<void>((resolve) => closing.close(() => resolve()));
  };

  await listen();
  return {
    port,
    urlFor(url) {
      const parsed = new URL(url);
      parsed.hostname = "127.0.0.1";
      parsed.port = String(port);
      return parsed.toString();
    },
    cut,
    terminateAfterStartup(count) {
      toTerminate = count;
    },
    restore: () => (server ? Promise.resolve() : listen()),
    close: cut,
  };
}

/** PostgreSQL's ErrorResponse for a backend ended by a fast shutdown or `pg_terminate_backend`. */
function adminShutdownError(): Buffer {
  const fields = Buffer.concat([
    ...[
      ["S", "FATAL"],
      ["V", "FATAL"],
      ["C", "57P01"],
      ["M", "terminating connection due to administrator command"],
    ].map(([code, value]) => Buffer.from(`${code}${value}\0`)),
    Buffer.from([0]),
  ]);
  const header = Buffer.alloc(5);
  header.write("E", 0);
  header.writeInt32BE(4 + fields.length, 1);
  return Buffer.concat([header, fields]);
}

/**
 * Forwards the server's messages (authentication takes several round trips)
 * until its first ReadyForQuery ('Z'), which goes out in one write with that
 * error, and the connection ends.
 */
function endAfterReady(upstream: net.Socket, client: net.Socket) {
  let pending = Buffer.alloc(0);
  upstream.on("data", (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    let at = 0;
    while (at + 5 <= pending.length) {
      const end = at + 1 + pending.readInt32BE(at + 1);
      if (end > pending.length) break;
      if (pending[at] === 0x5a) {
        client.end(Buffer.concat([pending.subarray(0, end), adminShutdownError()]));
        upstream.destroy();
        return;
      }
      at = end;
    }
    client.write(pending.subarray(0, at));
    pending = pending.subarray(at);
  });
}

/** The host and port of a postgres:// URL. */
export function hostOf(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname || "127.0.0.1", port: Number(parsed.port || 5432) };
}
