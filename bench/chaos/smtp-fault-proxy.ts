/**
 * A TCP proxy in front of the SMTP sink that the app sends its mail to, so
 * the chaos run can make the mail server misbehave: `dropNext(k)` makes the
 * next k connections be accepted, greeted and then dropped in the middle of
 * the transaction (on the client's MAIL FROM, before any message was
 * accepted), as a provider that crashes or cuts idle connections would.
 * Refusals (451) come from the sink itself (`failNext`).
 */
import { createServer, Socket, type AddressInfo } from "node:net";

export interface SmtpFaultProxy {
  url: string;
  dropNext(count: number): void;
  stats(): { connections: number; dropped: number };
  stop(): Promise<void>;
}

export async function startSmtpFaultProxy(target: { host: string; port: number }) {
  let pendingDrops = 0;
  let connections = 0;
  let dropped = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    connections += 1;
    const doomed = pendingDrops > 0;
    if (doomed) pendingDrops -= 1;
    const upstream = new Socket();
    sockets.add(client);
    sockets.add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", close);
    upstream.on("error", close);
    client.on("close", close);
    upstream.on("close", close);
    upstream.connect(target.port, target.host);
    upstream.on("data", (chunk: Buffer) => client.write(chunk));
    client.on("data", (chunk: Buffer) => {
      if (doomed && /MAIL FROM/i.test(chunk.toString("latin1"))) {
        dropped += 1;
        close();
        return;
      }
      upstream.write(chunk);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    dropNext(count: number) {
      pendingDrops += count;
    },
    stats: () => ({ connections, dropped }),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  } satisfies SmtpFaultProxy;
}
