/**
 * The process-wide event log hub: one LISTEN connection per server process
 * for every log (chat answers, job events) and chat's stop requests. Kept on
 * `globalThis` so development hot reloads do not open another.
 */
import "server-only";
import { env } from "@/lib/env";
import { EventLogHub } from "@/lib/event-log/hub";
import { logger } from "@/lib/logger";

const globalForHub = globalThis as unknown as { eventLogHub?: EventLogHub };

export function createEventLogHub(connectionString: string = env.DATABASE_URL): EventLogHub {
  return new EventLogHub({
    connectionString,
    onLog: (level, event, fields) => logger[level](event, fields),
  });
}

export function eventLogHub(): EventLogHub {
  // A closed hub (tests close it when they finish) is replaced, never reused.
  if (!globalForHub.eventLogHub || globalForHub.eventLogHub.isClosed) {
    globalForHub.eventLogHub = createEventLogHub();
  }
  return globalForHub.eventLogHub;
}
