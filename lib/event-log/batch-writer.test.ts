import { describe, expect, it, vi } from "vitest";
import { BatchWriter } from "@/lib/event-log/batch-writer";

type Write = { events: number[]; final: string | undefined };

function recordingWriter(
  options: { fail?: (call: number) => boolean; refuse?: (call: number) => boolean } = {},
) {
  const writes: Write[] = [];
  let calls = 0;
  const onRefused = vi.fn();
  const writer = new BatchWriter<number, string>({
    intervalMs: 5,
    write: async (events, final) => {
      calls += 1;
      if (options.fail?.(calls)) throw new Error("database restarting");
      if (options.refuse?.(calls)) return false;
      writes.push({ events, final });
      return true;
    },
    onRefused,
  });
  return { writer, writes, onRefused };
}

describe("BatchWriter", () => {
  it("writes events in order, in batches, and the rest with the final state", async () => {
    const { writer, writes } = recordingWriter();
    for (let i = 1; i <= 50; i++) {
      writer.push(i);
      if (i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    writer.push(51);
    expect(await writer.close("complete")).toBe(true);
    expect(writes.flatMap((write) => write.events)).toEqual(
      Array.from({ length: 51 }, (_, i) => i + 1),
    );
    expect(writes.length).toBeGreaterThan(1);
    expect(writes.length).toBeLessThan(51);
    expect(writes.at(-1)!.final).toBe("complete");
    expect(writes.slice(0, -1).every((write) => write.final === undefined)).toBe(true);
  });

  it("writes the last events with the final state even when a timed batch was already due", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const writes: Write[] = [];
    const writer = new BatchWriter<number, string>({
      intervalMs: 1,
      write: async (events, final) => {
        if (writes.length === 0) await gate;
        writes.push({ events, final });
        return true;
      },
    });
    writer.push(1);
    await new Promise((resolve) => setTimeout(resolve, 10));
    // A write is in flight and another timed batch is queued behind it.
    writer.push(2);
    await new Promise((resolve) => setTimeout(resolve, 10));
    writer.push(3);
    const closed = writer.close("complete");
    release();
    expect(await closed).toBe(true);
    expect(writes.at(-1)).toEqual({ events: [2, 3], final: "complete" });
  });

  it("keeps the events of a failed write and writes them first when it retries", async () => {
    const { writer, writes } = recordingWriter({ fail: (call) => call <= 2 });
    writer.push(1);
    writer.push(2);
    await expect.poll(() => writes.length).toBeGreaterThan(0);
    writer.push(3);
    expect(await writer.close("complete")).toBe(true);
    expect(writes.flatMap((write) => write.events)).toEqual([1, 2, 3]);
  });

  it("stops writing for good once a write is refused", async () => {
    const { writer, writes, onRefused } = recordingWriter({ refuse: (call) => call === 2 });
    writer.push(1);
    await expect.poll(() => writes.length).toBe(1);
    writer.push(2);
    await expect.poll(() => onRefused.mock.calls.length).toBe(1);
    expect(writer.isRefused).toBe(true);
    writer.push(3);
    expect(await writer.close("complete")).toBe(false);
    expect(writes.flatMap((write) => write.events)).toEqual([1]);
  });

  it("writes nothing when the stream's row never came to exist", async () => {
    const writes: number[][] = [];
    const writer = new BatchWriter<number, string>({
      intervalMs: 1,
      ready: Promise.resolve(false),
      write: async (events) => {
        writes.push(events);
        return true;
      },
    });
    writer.push(1);
    expect(await writer.close("complete")).toBe(false);
    expect(writes).toEqual([]);
  });
});
