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

afterAll(() => jobEventsHub().close());

interface Frame {
  event: string | null;
  id: string | null;
  data: unknown;
}

/** Opens the stream and returns frames as they arrive, until `until` says stop. */
async function readFrames(
  input: Record<string, unknown>,
  until: (frames: Frame[]) => boolean,
): Promise<Frame[]> {
  const controller = new AbortController();
  const query = encodeURIComponent(JSON.stringify(superjson.serialize(input)));
  const response = await GET(
    new Request(`http://localhost/api/trpc/jobs.events?input=${query}`, {
      headers: { accept: "text/event-stream" },
      signal: controller.signal,
    }),
  );
  expect(response.headers.get("content-type")).toContain("text/event-stream");
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const frames: Frame[] = [];
  let buffer = "";
  try {
    while (!until(frames)) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf("\n\n")) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const field = (name: string) =>
          new RegExp(`^${name}: ?(.*)$`, "m").exec(block)?.[1] ?? null;
        const data = field("data");
        frames.push({
          event: field("event"),
          id: field("id"),
          data: data ? JSON.parse(data) : null,
        });
      }
    }
  } finally {
    controller.abort();
    await reader.cancel().catch(() => {});
  }
  return frames;
}

const eventFrames = (frames: Frame[]) => frames.filter((frame) => frame.id !== null);

describe("jobs.events over SSE", () => {
  it("streams stored then live events with their seq as the event id, and resumes after lastEventId", async () => {
    const { id } = await createTestJob();
    const token = createJobAccessToken(id);
    await commitStep(id, "start", { status: "running" });
    await commitStep(id, "a", { progress: 0.2 });
    await commitStep(id, "b", { progress: 0.4 });

    const live = readFrames(
      { id, token, lastEventId: null },
      (frames) => eventFrames(frames).length >= 4,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    await commitStep(id, "c", { progress: 0.6 });
    const first = eventFrames(await live);
    expect(first.map((frame) => frame.id)).toEqual(["1", "2", "3", "4"]);
    const payload = superjson.deserialize(first[3]!.data as never) as {
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
    expect(JSON.stringify(error?.data)).toContain("NOT_FOUND");
    expect(eventFrames(frames)).toEqual([]);
  });
});
