/**
 * One app instance of the chat, in its own process, for tests that need
 * several instances on one database (resume on another instance, a
 * generating process killed with SIGKILL). It serves this checkout's chat
 * routes (POST /api/chat, GET /api/chat/[id]/stream) over plain node:http
 * and prints `{"port": n}` once it listens. Its environment (DATABASE_URL,
 * DEMO_MODEL_URL, SESSION_SECRET, …) comes from the test.
 *
 *   node --conditions=react-server --import tsx test/chat-instance.ts
 */
import { createServer } from "node:http";
import { Readable } from "node:stream";

const { POST } = await import("@/app/api/chat/route");
const { GET } = await import("@/app/api/chat/[id]/stream/route");
const STREAM_PATH = /^\/api\/chat\/([^/]+)\/stream$/;

const server = createServer((req, res) => {
  void (async () => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const abort = new AbortController();
    res.on("close", () => abort.abort());
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers))
      if (typeof value === "string") headers.set(name, value);
    const body =
      req.method === "POST" ? (Readable.toWeb(req) as ReadableStream<Uint8Array>) : undefined;
    const request = new Request(url, {
      method: req.method,
      headers,
      body,
      signal: abort.signal,
      duplex: "half",
    } as RequestInit);
    const stream = STREAM_PATH.exec(url.pathname);
    const response =
      req.method === "POST" && url.pathname === "/api/chat"
        ? await POST(request)
        : req.method === "GET" && stream
          ? await GET(request, { params: Promise.resolve({ id: stream[1]! }) })
          : new Response(null, { status: 404 });
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (!response.body) return res.end();
    const reader = response.body.getReader();
    res.on("close", () => void reader.cancel().catch(() => {}));
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      res.write(value);
    }
    res.end();
  })().catch(() => res.destroy());
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  if (address && typeof address === "object")
    process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
});
