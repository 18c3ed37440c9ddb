/**
 * A loopback TCP balancer in front of replicas of one process (the app, the
 * executor), as a load balancer in front of a deployment: each connection
 * goes to the next replica in turn, and to the one after it when that one
 * refuses (killed, still starting). A replica's death cuts only the
 * connections it held.
 */
import net from "node:net";

export interface Balancer {
  port: number;
  close(): Promise<void>;
}

export async function startBalancer(targetPorts: readonly number[]): Promise<Balancer> {
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
  };
  let next = 0;
  const connect = (client: net.Socket, tried: number) => {
    if (tried >= targetPorts.length || client.destroyed) {
      client.destroy();
      return;
    }
    const port = targetPorts[next++ % targetPorts.length]!;
    const upstream = net.connect(port, "127.0.0.1");
    const refused = () => connect(client, tried + 1);
    upstream.once("error", refused);
    upstream.once("connect", () => {
      upstream.off("error", refused);
      track(upstream);
      client.pipe(upstream).pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
      client.resume();
    });
  };
  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    track(client);
    connect(client, 0);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
