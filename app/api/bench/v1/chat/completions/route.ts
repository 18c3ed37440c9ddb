/**
 * A benchmark baseline, off unless BENCH_PASSTHROUGH=on: the least a Next.js
 * route handler can do to stream the demo model's answer (forward the request,
 * return the upstream body). `bench/chat.ts` measures it beside the demo model
 * called directly and beside the chat route, so the figures separate what the
 * framework costs from what the chat route itself adds.
 *
 * NOTE: unlike the job-events benchmark's baseline (a fixture client in
 * bench/), this one cannot leave the app: what it measures is a route handler
 * served by the same Next.js build and process as the chat route, and only a
 * route in `app/` is that. Off by default, it answers 404.
 */
import { env } from "@/lib/env";

export const dynamic = "force-dynamic";

export async function POST(req: Request) {
  if (env.BENCH_PASSTHROUGH !== "on") return new Response(null, { status: 404 });
  const upstream = await fetch(`${env.DEMO_MODEL_URL}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: await req.text(),
    signal: req.signal,
  });
  return new Response(upstream.body, {
    status: upstream.status,
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache, no-transform" },
  });
}
