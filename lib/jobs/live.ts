/**
 * The job event log as the process's event log hub reads it
 * (lib/event-log/hub.ts: one LISTEN connection per process, shared with chat).
 */
import "server-only";
import { db } from "@/lib/db";
import type { EventLog } from "@/lib/event-log/hub";
import { eventLogHub } from "@/lib/event-log/process-hub";
import { JOB_EVENTS_CHANNEL, jobEventSelect, type StoredJobEvent } from "@/lib/jobs/event-log";

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

export const jobEventLog: EventLog<StoredJobEvent> = {
  channel: JOB_EVENTS_CHANNEL,
  read: readJobEvents,
};

/** The process's hub (tests close it when they finish; it is then replaced). */
export const jobEventsHub = eventLogHub;

/** Stored events after `afterSeq`, then live ones; see EventLogHub.subscribe. */
export function subscribeJobEvents(jobId: string, afterSeq: number, signal?: AbortSignal) {
  return eventLogHub().subscribe(jobEventLog, jobId, afterSeq, { signal });
}
