/**
 * What the benchmarks share to run their subjects as separate processes and
 * read their streams: a free loopback port, waiting for a server to answer,
 * and server-sent events timed as they arrive.
 */
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";

// One free-port helper for the scripts, the tests and the benchmarks.
export { freePort } from "../../scripts/lib/ports";

/** Polls `url` until it answers 2xx; fails if the child exits or time runs out. */
export async function waitUntilReady(
  url: string,
  child: ChildProcess,
  what: string,
  timeoutMs = 60_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // Not listening yet.
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill();
      throw new Error(`${what} did not start`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/**
 * Calls `onData` with each SSE `data:` payload of a response body as it
 * arrives, the event's `id:` when it has one, and its `event:` name when it
 * has one (tRPC names its errors `serialized-error`).
 */
export async function readServerSentEvents(
  body: ReadableStream<Uint8Array>,
  onData: (data: string, id?: string, event?: string) => void,
) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let boundary: number;
    while ((boundary = buffer.indexOf("\n\n")) !== -1) {
      const event = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      const id = /^id: (.*)$/m.exec(event)?.[1];
      const data = /^data: (.*)$/m.exec(event)?.[1];
      const name = /^event: (.*)$/m.exec(event)?.[1];
      if (data !== undefined) onData(data, id, name);
    }
  }
}

/**
 * Times the content of one stream: `content(text)` as each piece arrives,
 * `sample()` at the end. Throughput is counted in characters, not events, so
 * a path that sends several tokens per event is measured the same way as one
 * that sends one.
 */
export function contentTimer(started: number) {
  let first = NaN;
  let last = NaN;
  let firstChars = 0;
  let chars = 0;
  let pieces = 0;
  return {
    content(text: string) {
      if (!text) return;
      pieces += 1;
      const now = performance.now();
      if (chars === 0) {
        first = now;
        firstChars = text.length;
      }
      last = now;
      chars += text.length;
    },
    sample() {
      return {
        ttftMs: first - started,
        chars,
        pieces,
        charsPerSecond: last > first ? ((chars - firstChars) * 1000) / (last - first) : NaN,
      };
    },
  };
}

/** CPU time (user + system) a process has used so far, in ms; null where /proc cannot tell. */
export function processCpuMs(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces) start at state (field 3).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    // USER_HZ is 100 on Linux.
    return Number.isFinite(ticks) ? ticks * 10 : null;
  } catch {
    return null;
  }
}

/**
 * Resident memory of a process and every process it started (a server may
 * fork workers), in bytes; null once it is gone or where /proc cannot tell.
 */
export function treeRssBytes(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const rssKb = Number(
      /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1],
    );
    if (!Number.isFinite(rssKb)) return null;
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .split(" ")
      .filter(Boolean)
      .map(Number);
    return children.reduce((sum, child) => sum + (treeRssBytes(child) ?? 0), rssKb * 1024);
  } catch {
    return null;
  }
}
