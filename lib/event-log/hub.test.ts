import pg from "pg";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { appendJobEvents, type StoredJobEvent } from "@/lib/jobs/event-log";
import { EventLogHub, type EventLog } from "@/lib/event-log/hub";
import { jobEventLog, readJobEvents } from "@/lib/jobs/live";
import { createTestJob } from "@/test/jobs";
import { waitUntil } from "@/test/wait";

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

function write(jobId: string, step: string, count = 1) {
  return db.$transaction((tx) =>
    appendJobEvents(
      tx,
      jobId,
      step,
      Array.from({ length: count }, (_, n) => ({ type: "progress", data: { n } })),
    ),
  );
}

/** Collects `count` events from a subscription into `seen` (as they arrive), then stops it. */
async function collect(
  iterator: AsyncGenerator<StoredJobEvent>,
  count: number,
  timeoutMs = 20_000,
  seen: number[] = [],
) {
  const timer = setTimeout(() => void iterator.return(undefined), timeoutMs);
  for await (const event of iterator) {
    seen.push(event.seq);
    if (seen.length >= count) break;
  }
  clearTimeout(timer);
  return seen;
}

const hubs: EventLogHub[] = [];
/** A hub of its own (not the process's), reading the job log through `readEvents`. */
function newHub(
  readEvents: EventLog<StoredJobEvent>["read"] = readJobEvents,
  options: { pageSize?: number; minBackoffMs?: number } = {},
) {
  const hub = new EventLogHub({ connectionString: process.env.DATABASE_URL!, ...options });
  hubs.push(hub);
  const log: EventLog<StoredJobEvent> = { channel: jobEventLog.channel, read: readEvents };
  return {
    hub,
    subscribe: (jobId: string, afterSeq: number, signal?: AbortSignal) =>
      hub.subscribe(log, jobId, afterSeq, { signal }),
    ready: () => hub.listen(log.channel),
  };
}
afterEach(async () => {
  await Promise.all(hubs.splice(0).map((hub) => hub.close()));
});
afterAll(() => db.$disconnect());

describe("EventLogHub, with the job event log", () => {
  it("replays stored events after the given seq, then streams live ones", async () => {
    const { id } = await createTestJob();
    await write(id, "before", 5);
    const { hub, subscribe, ready } = newHub();
    const received = collect(subscribe(id, 2), 8);
    await ready();
    await write(id, "live-1", 2);
    await write(id, "live-2", 3);
    expect(await received).toEqual(range(3, 10));
    expect(hub.subscriberCount).toBe(0);
  });

  it.each([200, 3])(
    "misses nothing and repeats nothing when events commit during the replay (page size %i)",
    async (pageSize) => {
      const { id } = await createTestJob();
      await write(id, "stored", 7);
      let reads = 0;
      // Commits land after the first read saw the table and before the subscriber waits.
      const { subscribe } = newHub(
        async (jobId, afterSeq, limit) => {
          const rows = await readJobEvents(jobId, afterSeq, limit);
          if (++reads === 1) {
            await write(id, "during-replay-1", 2);
            await write(id, "during-replay-2", 1);
          }
          return rows;
        },
        { pageSize },
      );
      const seen = await collect(subscribe(id, 0), 10);
      expect(seen).toEqual(range(1, 10));
    },
  );

  it("delivers every event once, in order, to many subscribers while writers race", async () => {
    const { id } = await createTestJob();
    const { subscribe, ready } = newHub();
    const subscribers = range(1, 20).map((n) =>
      collect(subscribe(id, 0), 60, 20_000).then((seen) => [n, seen] as const),
    );
    await ready();
    await Promise.all(
      range(1, 6).map(async (writer) => {
        for (let i = 0; i < 5; i++) await write(id, `w${writer}-${i}`, 2);
      }),
    );
    for (const [, seen] of await Promise.all(subscribers)) expect(seen).toEqual(range(1, 60));
  });

  it("shares one read among the subscribers of a job that are at the same point", async () => {
    const { id } = await createTestJob();
    let reads = 0;
    const { subscribe, ready } = newHub(async (jobId, afterSeq, limit) => {
      reads++;
      return readJobEvents(jobId, afterSeq, limit);
    });
    const seen = range(1, 20).map((): number[] => []);
    const subscribers = seen.map((into) => collect(subscribe(id, 0), 5, undefined, into));
    await ready();
    for (let i = 1; i <= 5; i++) {
      await write(id, `w${i}`, 1);
      // Every subscriber has this event before the next write (not a fixed
      // pause, which a loaded machine outruns): they stay at the same point.
      await waitUntil(
        () => seen.map((events) => events.length),
        (counts) => counts.every((n) => n >= i),
        { what: `event ${i} at every subscriber` },
      );
    }
    for (const seen of await Promise.all(subscribers)) expect(seen).toEqual(range(1, 5));
    // Unshared, that would be 20 subscribers x (1 replay + 5 notifications).
    expect(reads).toBeLessThan(40);
  });

  it("reconnects after its LISTEN connection is killed and delivers what was committed meanwhile", async () => {
    const { id } = await createTestJob();
    // Reconnects only after 400 ms, so the writes below surely commit while nobody listens.
    const { hub, subscribe, ready } = newHub(readJobEvents, { minBackoffMs: 400 });
    const iterator = subscribe(id, 0);
    const first = collect(iterator, 2);
    await ready();
    await write(id, "a", 2);
    expect(await first).toEqual([1, 2]);

    const resumed = collect(subscribe(id, 2), 6);
    await ready();
    const pid = hub.backendPid;
    expect(pid).toBeTypeOf("number");
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query("SELECT pg_terminate_backend($1)", [pid]);
    await admin.end();
    await waitUntil(
      () => hub.backendPid,
      (backendPid) => backendPid === null,
      { interval: 5, what: "the hub noticing its lost connection" },
    );
    // Their NOTIFYs reach no one: only the re-read after reconnecting finds them.
    await write(id, "b", 3);
    await write(id, "c", 3);
    expect(hub.backendPid).toBeNull();
    expect(await resumed).toEqual(range(3, 8));
    expect(hub.connections).toBeGreaterThanOrEqual(2);
    expect(hub.backendPid).not.toBe(pid);
  });

  it("ends a subscription when its signal aborts, even while waiting", async () => {
    const { id } = await createTestJob();
    const { hub, subscribe, ready } = newHub();
    const controller = new AbortController();
    const iterator = subscribe(id, 0, controller.signal);
    const seen: number[] = [];
    const done = (async () => {
      for await (const event of iterator) seen.push(event.seq);
    })();
    await ready();
    await write(id, "x", 1);
    // Delivered, so the subscription is now waiting for the next event.
    await waitUntil(
      () => seen.length,
      (count) => count === 1,
    );
    controller.abort();
    await done;
    expect(seen).toEqual([1]);
    expect(hub.subscriberCount).toBe(0);
  });
});
