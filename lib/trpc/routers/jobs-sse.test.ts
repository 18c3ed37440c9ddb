/**
 * The jobs.events subscription over the real tRPC route handler, read the way
 * httpSubscriptionLink reads it: server-sent events whose ids are the seqs.
 */
import superjson from "superjson";
import { afterAll, describe, expect, it } from "vitest";
import { GET } from "@/app/api/trpc/[trpc]/route";
import { createJobAccessToken } from "@/lib/jobs/access-token";
import { commitStep } from "@/lib/jobs/event-log";
import { jobEventsHub } from "@/lib/jobs/live";
import { createTestJob } from "@/test/jobs";
import { SseReader, type SseFrame } from "@/test/sse";

afterAll(() => jobEventsHub().close());

/** Opens the real route's stream of `jobs.events` for `input`. */
async function openEvents(input: Record<string, unknown>): Promise<SseReader> {
  const controller = new AbortController();
  const query = encodeURIComponent(JSON.stringify(superjson.serialize(input)));
  const response = await GET(
    new Request(`http://localhost/api/trpc/jobs.events?input=${query}`, {
      headers: { accept: "text/event-stream" },
      signal: controller.signal,
    }),
  );
  expect(response.headers.get("content-type")).toContain("text/event-stream");
  return new SseReader(response, controller);
}

const eventFrames = (frames: SseFrame[]) => frames.filter((frame) => frame.id !== null);

async function readFrames(input: Record<string, unknown>, until: (frames: SseFrame[]) => boolean) {
  const stream = await openEvents(input);
  try {
    return await stream.until(until);
  } finally {
    await stream.close();
  }
}

describe("jobs.events over SSE", () => {
  it("streams stored then live events with their seq as the event id, and resumes after lastEventId", async () => {
    const { id } = await createTestJob();
    const token = createJobAccessToken(id);
    await commitStep(id, "start", { status: "running" });
    await commitStep(id, "a", { progress: 0.2 });
    await commitStep(id, "b", { progress: 0.4 });

    const live = await openEvents({ id, token, lastEventId: null });
    // The stored events first; the next one is then delivered live.
    await live.until((frames) => eventFrames(frames).length >= 3);
    await commitStep(id, "c", { progress: 0.6 });
    const first = eventFrames(await live.until((frames) => eventFrames(frames).length >= 4));
    await live.close();
    expect(first.map((frame) => frame.id)).toEqual(["1", "2", "3", "4"]);
    const payload = superjson.deserialize(JSON.parse(first[3]!.data!)) as {
      seq: number;
      type: string;
      createdAt: Date;
    };
    expect(payload).toMatchObject({ seq: 4, type: "progress" });
    expect(payload.createdAt).toBeInstanceOf(Date);

    // What a reconnecting browser asks for: everything after the last id it saw.
    const resumed = eventFrames(
      await readFrames(
        { id, token, lastEventId: "2" },
        (frames) => eventFrames(frames).length >= 2,
      ),
    );
    expect(resumed.map((frame) => frame.id)).toEqual(["3", "4"]);
  });

  it("tells a stranger the job does not exist", async () => {
    const { id } = await createTestJob();
    const frames = await readFrames({ id, token: null, lastEventId: null }, (all) =>
      all.some((frame) => frame.event === "serialized-error"),
    );
    const error = frames.find((frame) => frame.event === "serialized-error");
    expect(error?.data).toContain("NOT_FOUND");
    expect(eventFrames(frames)).toEqual([]);
  });
});
