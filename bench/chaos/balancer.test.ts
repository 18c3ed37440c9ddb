import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { startBalancer, type Balancer } from "./balancer";

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const thing of open.splice(0)) await thing.close();
});

async function replica(name: string) {
  const server = http.createServer((_req, res) => res.end(name));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
  open.push({ close: () => server.listening && stop() });
  return { port: (server.address() as AddressInfo).port, stop };
}

async function balancerFor(ports: number[]): Promise<Balancer> {
  const balancer = await startBalancer(ports);
  open.push(balancer);
  return balancer;
}

/** One request on a new connection, as a client without keep-alive makes it. */
async function ask(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: "close" } });
  return response.text();
}

describe("the chaos balancer", () => {
  it("sends connections to the replicas in turn", async () => {
    const [a, b] = [await replica("a"), await replica("b")];
    const balancer = await balancerFor([a.port, b.port]);
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await ask(balancer.port));
    expect(answers.sort()).toEqual(["a", "a", "b", "b"]);
  });

  it("passes over a replica that refuses, and closes the connection when none answers", async () => {
    const [a, b] = [await replica("a"), await replica("b")];
    const balancer = await balancerFor([a.port, b.port]);
    await a.stop();
    for (let i = 0; i < 3; i++) expect(await ask(balancer.port)).toBe("b");
    await b.stop();
    await expect(ask(balancer.port)).rejects.toThrow();
  });
});
