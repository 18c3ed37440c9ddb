import dns from "node:dns";
import http from "node:http";
import zlib from "node:zlib";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import net from "node:net";
import { fetchDocument, documentUrlSchema } from "@/lib/ingest/fetch-document";
import { IngestError } from "@/lib/ingest/errors";
import { zlibBomb } from "@/test/ingest/hostile";

// Every request and connection the local server receives, so tests can prove a blocked URL was never contacted.
const seen: string[] = [];
let connections = 0;
let server: http.Server;
let base: string;
let port: number;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://local");
    seen.push(url.pathname + url.search);
    switch (url.pathname) {
      case "/page.html":
        res.writeHead(200, { "content-type": "text/html; charset=UTF-8" });
        return res.end("<html><head><title>Hello</title></head><body><p>Hi</p></body></html>");
      case "/notes.md":
        res.writeHead(200, { "content-type": "application/octet-stream" });
        return res.end("# Notes\n\nSome *markdown*.");
      case "/doc.pdf":
        res.writeHead(200, { "content-type": "application/octet-stream" });
        return res.end("%PDF-1.7\n%fake but sniffable\n");
      case "/two-types.html":
        res.writeHead(200, { "content-type": "text/html, application/pdf" });
        return res.end("<html><head><title>Which?</title></head><body><p>Hi</p></body></html>");
      case "/same-type-twice.html":
        res.writeHead(200, { "content-type": "text/html, text/html; charset=utf-8" });
        return res.end("<html><head><title>Twice</title></head><body><p>Hi</p></body></html>");
      case "/image.png":
        res.writeHead(200, { "content-type": "image/png" });
        return res.end(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      case "/disguised.bin":
        res.writeHead(200, { "content-type": "application/octet-stream" });
        return res.end(
          Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]),
        );
      case "/redirect": {
        res.writeHead(302, { location: url.searchParams.get("to") ?? "/page.html" });
        return res.end();
      }
      case "/loop":
        res.writeHead(301, { location: `/loop?n=${Number(url.searchParams.get("n") ?? 0) + 1}` });
        return res.end();
      case "/declared-huge":
        res.writeHead(200, {
          "content-type": "text/plain",
          "content-length": String(50 * 1024 * 1024),
        });
        return res.end();
      case "/stream-huge": {
        // No Content-Length: only the streaming cap can stop this.
        res.writeHead(200, { "content-type": "text/plain" });
        const block = Buffer.alloc(64 * 1024, "a");
        let sent = 0;
        const pump = () => {
          while (sent < 20 && res.write(block)) sent++;
          if (sent >= 20) res.end();
          else res.once("drain", pump);
        };
        res.on("error", () => undefined);
        return pump();
      }
      case "/gzip":
        res.writeHead(200, { "content-type": "text/html", "content-encoding": "gzip" });
        return res.end(zlib.gzipSync("<p>compressed anyway</p>"));
      case "/bomb":
        // 50 MB of zeros compress to about 50 KB.
        res.writeHead(200, { "content-type": "text/plain", "content-encoding": "gzip" });
        return res.end(zlib.gzipSync(Buffer.alloc(50 * 1024 * 1024)));
      case "/bad-gzip":
        res.writeHead(200, { "content-type": "text/plain", "content-encoding": "gzip" });
        return res.end(Buffer.from("this is not gzip data at all"));
      case "/compress":
        res.writeHead(200, { "content-type": "text/plain", "content-encoding": "compress" });
        return res.end("??");
      case "/slow":
        // Never answers; the client's deadline has to end it.
        return;
      case "/missing":
        res.writeHead(404, { "content-type": "text/html" });
        return res.end("not here");
      default:
        res.writeHead(500);
        return res.end();
    }
  });
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen.length = 0;
  connections = 0;
});

async function failure(promise: Promise<unknown>): Promise<IngestError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(IngestError);
    return error as IngestError;
  }
  throw new Error("expected the fetch to fail");
}

const local = { allowPrivateNetworks: true } as const;

describe("fetchDocument with the default (public-only) policy", () => {
  it.each([
    ["http://127.0.0.1:9/", "loopback literal"],
    ["http://10.0.0.1/", "RFC 1918"],
    ["http://192.168.1.10/", "RFC 1918"],
    ["http://100.64.0.1/", "CGNAT"],
    ["http://169.254.169.254/latest/meta-data/", "cloud metadata"],
    ["http://0.0.0.0/", "unspecified"],
    ["http://[::1]/", "IPv6 loopback"],
    ["http://[::]/", "IPv6 unspecified"],
    ["http://[fe80::1]/", "IPv6 link-local"],
    ["http://[fd00:ec2::254]/", "AWS IPv6 metadata"],
    ["http://[::ffff:127.0.0.1]/", "IPv4-mapped loopback"],
    ["http://[::ffff:a9fe:a9fe]/", "IPv4-mapped metadata"],
    ["http://[64:ff9b::a00:1]/", "NAT64 of 10.0.0.1"],
    ["http://2130706433/", "decimal loopback"],
    ["http://0x7f.1/", "hex loopback"],
    ["http://224.0.0.1/", "multicast"],
  ])("refuses %s (%s)", async (url) => {
    const error = await failure(fetchDocument(url));
    expect(error.code).toBe("blocked_address");
    expect(error.message).not.toMatch(/\d+\.\d+\.\d+\.\d+/);
    expect(error.retryable).toBe(false);
  });

  it("refuses the local test server by IP and never contacts it", async () => {
    const error = await failure(fetchDocument(`${base}/page.html`));
    expect(error.code).toBe("blocked_address");
    expect(seen).toEqual([]);
  });

  it("refuses a hostname that resolves to loopback, checked at connect time", async () => {
    const error = await failure(fetchDocument(`http://localhost:${port}/page.html`));
    expect(error.code).toBe("blocked_address");
    expect(error.detail).toContain("127.0.0.1");
    expect(seen).toEqual([]);
  });

  it("checks every redirect: a trusted first hop cannot redirect to a private address", async () => {
    // The first hop (localhost:port) is exempted explicitly, standing in for a public site;
    // its redirect to 127.0.0.1 gets no exemption and must be refused before any request is made.
    const target = `http://127.0.0.1:${port}/page.html`;
    const error = await failure(
      fetchDocument(`http://localhost:${port}/redirect?to=${encodeURIComponent(target)}`, {
        trustedPrivateHosts: [`localhost:${port}`],
      }),
    );
    expect(error.code).toBe("blocked_address");
    expect(seen).toEqual([`/redirect?to=${encodeURIComponent(target)}`]);
  });

  it("checks redirects to hostnames too (resolved at connect time)", async () => {
    const other = await new Promise<http.Server>((resolve) => {
      const s = http.createServer((_req, res) => res.end("secret"));
      s.listen(0, "127.0.0.1", () => resolve(s));
    });
    const otherPort = (other.address() as AddressInfo).port;
    try {
      const error = await failure(
        fetchDocument(
          `http://localhost:${port}/redirect?to=${encodeURIComponent(`http://localhost:${otherPort}/`)}`,
          {
            trustedPrivateHosts: [`localhost:${port}`],
          },
        ),
      );
      expect(error.code).toBe("blocked_address");
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });

  it("the trusted-host exemption allows that exact host only", async () => {
    const doc = await fetchDocument(`http://localhost:${port}/redirect?to=/page.html`, {
      trustedPrivateHosts: [`LocalHost:${port}`],
    });
    expect(doc.url).toBe(`http://localhost:${port}/page.html`);
    expect(doc.redirects).toEqual([`http://localhost:${port}/page.html`]);
  });
});

// IPv6 spellings of the loopback canary (127.0.0.1) and of the metadata endpoint (169.254.169.254).
const embeddedLoopback: [address: string, form: string][] = [
  ["::127.0.0.1", "IPv4-compatible"],
  ["::7f00:1", "IPv4-compatible, hex"],
  ["::ffff:127.0.0.1", "IPv4-mapped"],
  ["::ffff:0:7f00:1", "IPv4-translated"],
  ["64:ff9b::7f00:1", "NAT64"],
  ["64:ff9b:1::7f00:1", "local-use NAT64"],
  ["2002:7f00:1::1", "6to4"],
  ["2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo"],
];

describe("fetchDocument refuses IPv6 forms that carry a private IPv4 address", () => {
  // Hostnames under this suffix resolve to the address encoded in their first label;
  // everything else goes to the real resolver.
  const fakeZone = ".dns.test";
  const realLookup = dns.lookup;
  beforeEach(() => {
    vi.spyOn(dns, "lookup").mockImplementation(((
      hostname: string,
      options: dns.LookupAllOptions,
      callback: (error: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void,
    ) => {
      if (!hostname.endsWith(fakeZone)) return realLookup(hostname, options, callback);
      const address = hostname.slice(0, -fakeZone.length).replaceAll("-", ":");
      queueMicrotask(() => callback(null, [{ address, family: 6 }]));
    }) as typeof dns.lookup);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  const hostFor = (address: string) => `${address.replaceAll(":", "-")}${fakeZone}`;

  it.each([
    ...embeddedLoopback,
    ["::169.254.169.254", "IPv4-compatible metadata"],
    ["::a9fe:a9fe", "IPv4-compatible metadata, hex"],
    ["::10.0.0.1", "IPv4-compatible RFC 1918"],
  ])("as a URL literal: [%s] (%s)", async (address) => {
    const error = await failure(fetchDocument(`http://[${address}]:${port}/page.html`));
    expect(error.code).toBe("blocked_address");
    expect(error.retryable).toBe(false);
    expect(connections).toBe(0);
  });

  it.each(embeddedLoopback)("as a DNS answer: %s (%s)", async (address) => {
    const error = await failure(fetchDocument(`http://${hostFor(address)}:${port}/page.html`));
    expect(error.code).toBe("blocked_address");
    expect(error.detail).toContain(address);
    expect(connections).toBe(0);
  });

  it.each(embeddedLoopback)("as a redirect target: [%s] (%s)", async (address) => {
    // The first hop (localhost:port) is exempted explicitly, standing in for a public site.
    const first = `http://localhost:${port}/redirect?to=`;
    const literal = encodeURIComponent(`http://[${address}]:${port}/page.html`);
    const named = encodeURIComponent(`http://${hostFor(address)}:${port}/page.html`);
    for (const target of [literal, named]) {
      seen.length = 0;
      const error = await failure(
        fetchDocument(`${first}${target}`, { trustedPrivateHosts: [`localhost:${port}`] }),
      );
      expect(error.code).toBe("blocked_address");
      expect(seen).toEqual([`/redirect?to=${target}`]);
    }
  });
});

describe("fetchDocument URL rules", () => {
  it.each([
    "file:///etc/passwd",
    "ftp://example.com/a.txt",
    "data:text/plain,hello",
    "javascript:alert(1)",
    "gopher://example.com/",
  ])("refuses the scheme of %s", async (url) => {
    expect((await failure(fetchDocument(url))).code).toBe("unsupported_scheme");
  });

  it("refuses a redirect to a non-http scheme", async () => {
    const error = await failure(
      fetchDocument(`${base}/redirect?to=${encodeURIComponent("file:///etc/passwd")}`, local),
    );
    expect(error.code).toBe("unsupported_scheme");
  });

  it("refuses garbage and embedded credentials", async () => {
    expect((await failure(fetchDocument("not a url"))).code).toBe("invalid_url");
    expect((await failure(fetchDocument("http://user:pass@example.com/"))).code).toBe(
      "invalid_url",
    );
  });

  it("documentUrlSchema accepts http(s) only", () => {
    expect(documentUrlSchema.safeParse(" https://example.com/a ").success).toBe(true);
    expect(documentUrlSchema.safeParse("file:///etc/passwd").success).toBe(false);
    expect(documentUrlSchema.safeParse("example.com").success).toBe(false);
  });
});

describe("fetchDocument with private networks allowed (test servers)", () => {
  it("downloads an HTML page with its charset", async () => {
    const doc = await fetchDocument(`${base}/page.html`, local);
    expect(doc.status).toBe(200);
    expect(doc.contentType).toBe("text/html");
    expect(doc.charset).toBe("utf-8");
    expect(new TextDecoder().decode(doc.bytes)).toContain("<title>Hello</title>");
    expect(doc.redirects).toEqual([]);
  });

  it("follows relative redirects and reports them", async () => {
    const doc = await fetchDocument(`${base}/redirect?to=/redirect%3Fto%3D/page.html`, local);
    expect(doc.url).toBe(`${base}/page.html`);
    expect(doc.redirects).toEqual([`${base}/redirect?to=/page.html`, `${base}/page.html`]);
  });

  it("caps redirects", async () => {
    const error = await failure(fetchDocument(`${base}/loop`, { ...local, maxRedirects: 3 }));
    expect(error.code).toBe("too_many_redirects");
    expect(seen).toHaveLength(4);
  });

  it("sniffs octet-stream bodies: PDF and Markdown accepted, an image refused", async () => {
    expect((await fetchDocument(`${base}/doc.pdf`, local)).contentType).toBe("application/pdf");
    const md = await fetchDocument(`${base}/notes.md`, local);
    expect(md.contentType).toBe("text/markdown");
    expect(md.fileName).toBe("notes.md");
    expect((await failure(fetchDocument(`${base}/disguised.bin`, local))).code).toBe(
      "unsupported_content_type",
    );
  });

  it("refuses a declared type outside the allowlist", async () => {
    expect((await failure(fetchDocument(`${base}/image.png`, local))).code).toBe(
      "unsupported_content_type",
    );
    const error = await failure(
      fetchDocument(`${base}/page.html`, { ...local, allowedContentTypes: ["application/pdf"] }),
    );
    expect(error.code).toBe("unsupported_content_type");
  });

  it("refuses a Content-Type listing several types as ambiguous, not as absent", async () => {
    const error = await failure(fetchDocument(`${base}/two-types.html`, local));
    expect(error.code).toBe("unsupported_content_type");
    expect(error.message).toMatch(/several content types/);
    expect(error.message).not.toContain("application/pdf");
    expect(error.detail).toContain("text/html, application/pdf");
    // The same type twice (a duplicated header) names one type: it is read as that type.
    const twice = await fetchDocument(`${base}/same-type-twice.html`, local);
    expect(twice.contentType).toBe("text/html");
  });

  it("refuses a declared Content-Length over the cap before reading", async () => {
    const error = await failure(
      fetchDocument(`${base}/declared-huge`, { ...local, maxBytes: 1024 * 1024 }),
    );
    expect(error.code).toBe("too_large");
    expect(error.message).toContain("1 MB");
  });

  it("aborts a streamed body past the cap", async () => {
    const error = await failure(
      fetchDocument(`${base}/stream-huge`, { ...local, maxBytes: 256 * 1024 }),
    );
    expect(error.code).toBe("too_large");
  });

  it("decompresses a body sent compressed despite asking for identity, with the cap on the decompressed size", async () => {
    const doc = await fetchDocument(`${base}/gzip`, local);
    expect(new TextDecoder().decode(doc.bytes)).toBe("<p>compressed anyway</p>");
    expect(
      (await failure(fetchDocument(`${base}/bomb`, { ...local, maxBytes: 1024 * 1024 }))).code,
    ).toBe("too_large");
    expect((await failure(fetchDocument(`${base}/bad-gzip`, local))).code).toBe("corrupt_document");
    expect((await failure(fetchDocument(`${base}/compress`, local))).code).toBe(
      "unsupported_content_type",
    );
  });

  it("enforces the total deadline", async () => {
    const error = await failure(fetchDocument(`${base}/slow`, { ...local, timeoutMs: 300 }));
    expect(error.code).toBe("timeout");
    expect(error.retryable).toBe(true);
  });

  it("reports the caller's abort as aborted, not as a timeout", async () => {
    const controller = new AbortController();
    const pending = fetchDocument(`${base}/slow`, { ...local, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    expect((await failure(pending)).code).toBe("aborted");
  });

  it("maps HTTP errors with their status", async () => {
    const error = await failure(fetchDocument(`${base}/missing`, local));
    expect(error.code).toBe("http_error");
    expect(error.status).toBe(404);
    expect(error.retryable).toBe(false);
    const serverError = await failure(fetchDocument(`${base}/boom`, local));
    expect(serverError.status).toBe(500);
    expect(serverError.retryable).toBe(true);
  });

  it("reports a closed port and an unknown host as unreachable", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    expect((await failure(fetchDocument(`http://127.0.0.1:${closedPort}/`, local))).code).toBe(
      "unreachable",
    );
    expect((await failure(fetchDocument("http://does-not-exist.invalid/"))).code).toBe(
      "unreachable",
    );
  });
});

describe("fetchDocument against hostile bodies", () => {
  // What the hostile server sent, and whether it got to the end of it.
  let sent = { bytes: 0, finished: false, closed: false };
  let hostile: http.Server;
  let hostileBase: string;
  const megabyte = 1024 * 1024;
  // 1 MB of spaces as one byte-aligned, self-contained deflate block: any number of copies inflate.
  const block = zlib.deflateRawSync(Buffer.alloc(megabyte, 0x20), {
    finishFlush: zlib.constants.Z_FULL_FLUSH,
  });
  const gzipHeader = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);

  // Writes `next()` until it returns undefined or the client goes away, respecting backpressure.
  function pump(res: http.ServerResponse, next: () => Buffer | undefined) {
    res.on("close", () => (sent.closed = true));
    res.on("error", () => undefined);
    const write = () => {
      for (;;) {
        const chunk = next();
        if (!chunk) {
          sent.finished = true;
          return res.end();
        }
        sent.bytes += chunk.length;
        if (!res.write(chunk)) return res.once("drain", write);
      }
    };
    write();
  }

  beforeAll(async () => {
    hostile = http.createServer((req, res) => {
      const path = new URL(req.url ?? "/", "http://local").pathname;
      if (path === "/endless-plain") {
        // 10 GB on offer, made as it is sent.
        res.writeHead(200, { "content-type": "text/plain" });
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        let left = 10 * 1024 * megabyte;
        return pump(res, () => ((left -= chunk.length) >= 0 ? chunk : undefined));
      }
      if (path === "/endless-gzip") {
        // A gzip stream that would inflate to 10 GB: about 10 MB on the wire.
        res.writeHead(200, { "content-type": "text/plain", "content-encoding": "gzip" });
        let blocks = 0;
        return pump(res, () =>
          blocks++ === 0 ? gzipHeader : blocks <= 10 * 1024 ? block : undefined,
        );
      }
      if (path === "/deflate-bomb") {
        res.writeHead(200, { "content-type": "text/plain", "content-encoding": "deflate" });
        return res.end(zlibBomb(200 * megabyte));
      }
      if (path === "/br-bomb") {
        res.writeHead(200, { "content-type": "text/plain", "content-encoding": "br" });
        return res.end(
          zlib.brotliCompressSync(Buffer.alloc(64 * megabyte, 0x20), {
            params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 },
          }),
        );
      }
      res.writeHead(404);
      res.end();
    });
    await new Promise<void>((resolve) => hostile.listen(0, "127.0.0.1", resolve));
    hostileBase = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    hostile.closeAllConnections();
    await new Promise((resolve) => hostile.close(resolve));
  });

  beforeEach(() => {
    sent = { bytes: 0, finished: false, closed: false };
  });

  async function refused(path: string, maxBytes: number) {
    const error = await failure(fetchDocument(`${hostileBase}${path}`, { ...local, maxBytes }));
    expect(error.code).toBe("too_large");
    expect(error.message).toBe(`The document is larger than ${maxBytes / megabyte} MB.`);
    // The client hung up: the server never got to the end of what it had to send.
    await vi.waitFor(() => expect(sent.closed).toBe(true), { timeout: 20_000 });
    expect(sent.finished).toBe(false);
  }

  it("stops reading an endless body at the cap", async () => {
    await refused("/endless-plain", megabyte);
    expect(sent.bytes).toBeLessThan(10 * 1024 * megabyte);
  });

  it("stops inflating an endless gzip stream at the cap, counted on the inflated bytes", async () => {
    await refused("/endless-gzip", megabyte);
  });

  it.each(["/deflate-bomb", "/br-bomb"])("refuses the decompression bomb at %s", async (path) => {
    const error = await failure(
      fetchDocument(`${hostileBase}${path}`, { ...local, maxBytes: megabyte }),
    );
    expect(error.code).toBe("too_large");
  });

  it("reads no more than a declared Content-Length, however much more is sent", async () => {
    const liar = net.createServer((socket) => {
      socket.on("error", () => undefined);
      socket.once("data", () => {
        socket.write("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 1000\r\n\r\n");
        socket.end(Buffer.alloc(4 * megabyte, 0x61));
      });
    });
    await new Promise<void>((resolve) => liar.listen(0, "127.0.0.1", resolve));
    try {
      const port = (liar.address() as AddressInfo).port;
      const doc = await fetchDocument(`http://127.0.0.1:${port}/`, {
        ...local,
        maxBytes: megabyte,
      });
      expect(doc.bytes.length).toBe(1000);
    } finally {
      await new Promise((resolve) => liar.close(resolve));
    }
  });
});
