/**
 * The process-wide job events hub and the reads it makes. One hub (one LISTEN
 * connection) per server process, kept on `globalThis` so development hot
 * reloads do not open another.
 */
import "server-only";
import { db } from "@/lib/db";
import { env } from "@/lib/env";
import { JOB_EVENTS_CHANNEL, jobEventSelect, type StoredJobEvent } from "@/lib/jobs/event-log";
import { JobEventsHub } from "@/lib/jobs/hub";
import { logger } from "@/lib/logger";

export function readJobEvents(
  jobId: string,
  afterSeq: number,
  limit: number,
): Promise<StoredJobEvent[]> {
  return db.jobEvent.findMany({
    where: { jobId, seq: { gt: afterSeq } },
    orderBy: { seq: "asc" },
    take: limit,
    select: jobEventSelect,
  });
}

export function createJobEventsHub(
  connectionString: string = env.DATABASE_URL,
): JobEventsHub<StoredJobEvent> {
  return new JobEventsHub<StoredJobEvent>({
    connectionString,
    channel: JOB_EVENTS_CHANNEL,
    readEvents: readJobEvents,
    onLog: (level, event, fields) => logger[level](event, fields),
  });
}

const globalForHub = globalThis as unknown as { jobEventsHub?: JobEventsHub<StoredJobEvent> };

export function jobEventsHub(): JobEventsHub<StoredJobEvent> {
  // A closed hub (tests close it when they finish) is replaced, never reused.
  if (!globalForHub.jobEventsHub || globalForHub.jobEventsHub.isClosed) {
    globalForHub.jobEventsHub = createJobEventsHub();
  }
  return globalForHub.jobEventsHub;
}

/** Stored events after `afterSeq`, then live ones; see JobEventsHub.subscribe. */
export function subscribeJobEvents(jobId: string, afterSeq: number, signal?: AbortSignal) {
  return jobEventsHub().subscribe(jobId, afterSeq, signal);
}
