import net from "node:net";
import http from "node:http";
import type { AddressInfo } from "node:net";
import ipaddr from "ipaddr.js";
import { describe, expect, it } from "vitest";
import {
  BlockedAddressError,
  createGuardedLookup,
  embeddedIPv4,
  isPublicAddress,
} from "@/lib/ingest/address-policy";

describe("isPublicAddress", () => {
  it.each([
    "127.0.0.1",
    "127.255.255.254",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.0.1",
    "169.254.169.254",
    "100.64.0.1",
    "100.100.100.200",
    "0.0.0.0",
    "224.0.0.251",
    "255.255.255.255",
    "192.0.0.192",
    "198.18.0.1",
    "::1",
    "::",
    "fe80::1",
    "fe80::1%eth0",
    "fc00::1",
    "fd00:ec2::254",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "64:ff9b::7f00:1",
    "2002:7f00:1::",
    "2001:db8::1",
    // IPv4-compatible ::/96, in both spellings getaddrinfo and URLs produce.
    "::127.0.0.1",
    "::7f00:1",
    "[::7f00:1]",
    "::169.254.169.254",
    "::a9fe:a9fe",
    "::10.0.0.1",
    "::100.100.100.200",
    // IPv4-translated (SIIT) ::ffff:0:0:0/96.
    "::ffff:0:7f00:1",
    "::ffff:0:a9fe:a9fe",
    // NAT64, the well-known prefix and the local-use /48 at each RFC 6052 position.
    "64:ff9b::a9fe:a9fe",
    "64:ff9b::192.168.0.1",
    "64:ff9b:1::7f00:1",
    "64:ff9b:1:7f00:0:100::",
    "64:ff9b:1:7f:0:1::",
    "64:ff9b:1:0:7f:0:1:0",
    // 6to4 of 127.0.0.1, 169.254.169.254 and 10.0.0.1.
    "2002:7f00:1:1::1",
    "2002:a9fe:a9fe::",
    "2002:a00:1::1",
    // Teredo whose (XORed) client is 127.0.0.1 and 10.0.0.1.
    "2001:0:4136:e378:8000:63bf:80ff:fffe",
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",
    "[::1]",
    "not-an-ip",
  ])("refuses %s", (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each([
    "8.8.8.8",
    "93.184.216.34",
    "1.1.1.1",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    "[2a00:1450:4001::1]",
    // Transition forms carrying a public IPv4 address follow the IPv4 policy.
    "::8.8.8.8",
    "::ffff:0:808:808",
    "64:ff9b::808:808",
    "2002:808:808::1",
    "2001:0:4136:e378:8000:63bf:f7f7:f7f7",
  ])("accepts %s", (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });
});

describe("embeddedIPv4", () => {
  it.each([
    ["::7f00:1", ["127.0.0.1"]],
    ["::ffff:7f00:1", ["127.0.0.1"]],
    ["::ffff:0:a9fe:a9fe", ["169.254.169.254"]],
    ["64:ff9b::a00:1", ["10.0.0.1"]],
    ["2002:c0a8:101::1", ["192.168.1.1"]],
    ["2001:0:4136:e378:8000:63bf:3fff:fdd2", ["192.0.2.45"]],
    ["64:ff9b:1:c000:2:2100::", ["192.0.2.33", "0.2.33.0", "2.33.0.0", "0.0.0.0"]],
    ["2606:4700:4700::1111", []],
    ["::1", []],
    ["::", []],
  ])("reads %s as %j", (address, expected) => {
    expect(embeddedIPv4(ipaddr.IPv6.parse(address)).map(String)).toEqual(expected);
  });
});

type Answer = { address: string; family: number }[];

// A resolver whose answers change between calls, as a rebinding DNS server's would.
function scriptedResolver(answers: Answer[]) {
  let call = 0;
  return (
    _host: string,
    _options: unknown,
    callback: (error: NodeJS.ErrnoException | null, addresses: Answer) => void,
  ) => {
    const answer = answers[Math.min(call++, answers.length - 1)]!;
    queueMicrotask(() => callback(null, answer));
  };
}

function lookupOnce(lookup: net.LookupFunction, all: boolean) {
  return new Promise<{ error: unknown; result: unknown }>((resolve) => {
    lookup("rebind.example", { all }, (error, address, family) =>
      resolve({ error, result: all ? address : { address, family } }),
    );
  });
}

describe("createGuardedLookup", () => {
  it("returns public answers in both callback shapes", async () => {
    const lookup = createGuardedLookup({
      resolve: scriptedResolver([[{ address: "93.184.216.34", family: 4 }]]),
    });
    expect(await lookupOnce(lookup, false)).toEqual({
      error: null,
      result: { address: "93.184.216.34", family: 4 },
    });
    expect(await lookupOnce(lookup, true)).toEqual({
      error: null,
      result: [{ address: "93.184.216.34", family: 4 }],
    });
  });

  it.each(["::127.0.0.1", "::7f00:1", "::ffff:0:7f00:1", "64:ff9b::7f00:1", "2002:7f00:1::1"])(
    "refuses a DNS answer of %s (an IPv6 form of 127.0.0.1)",
    async (address) => {
      const lookup = createGuardedLookup({
        resolve: scriptedResolver([[{ address, family: 6 }]]),
      });
      const { error } = await lookupOnce(lookup, true);
      expect(error).toBeInstanceOf(BlockedAddressError);
    },
  );

  it("refuses when any answer is private, not only the first", async () => {
    const lookup = createGuardedLookup({
      resolve: scriptedResolver([
        [
          { address: "93.184.216.34", family: 4 },
          { address: "::1", family: 6 },
        ],
      ]),
    });
    const { error } = await lookupOnce(lookup, true);
    expect(error).toBeInstanceOf(BlockedAddressError);
  });

  it("checks every lookup, so a rebinding answer is refused on the connection that would use it", async () => {
    const target = http.createServer((_req, res) => res.end("internal"));
    await new Promise<void>((resolve) => target.listen(0, "127.0.0.1", resolve));
    const port = (target.address() as AddressInfo).port;
    let accepted = 0;
    target.on("connection", () => accepted++);
    const lookup = createGuardedLookup({
      resolve: scriptedResolver([
        [{ address: "93.184.216.34", family: 4 }],
        [{ address: "127.0.0.1", family: 4 }],
      ]),
    });
    try {
      // First answer public (what a pre-check would have seen), the second, used by the socket, is loopback.
      expect((await lookupOnce(lookup, false)).error).toBeNull();
      const error = await new Promise<unknown>((resolve) => {
        const socket = net.connect({
          host: "rebind.example",
          port,
          lookup,
          autoSelectFamily: false,
        });
        socket.on("connect", () => resolve(null));
        socket.on("error", resolve);
      });
      expect(error).toBeInstanceOf(BlockedAddressError);
      expect(accepted).toBe(0);
    } finally {
      await new Promise((resolve) => target.close(resolve));
    }
  });

  it("lets private answers through only when explicitly allowed", async () => {
    const lookup = createGuardedLookup({
      allowPrivate: true,
      resolve: scriptedResolver([[{ address: "127.0.0.1", family: 4 }]]),
    });
    expect((await lookupOnce(lookup, false)).error).toBeNull();
  });
});
