/**
 * Which function settings the executor honours. An app sync that uses any
 * other setting (or a field of a setting the executor does not know) is
 * refused with the setting's name: a run must never start under rules that
 * production would apply and this executor silently would not.
 */
import { Cron } from "croner";
import { parseDurationMs } from "../durations";
import type { FunctionConfig } from "../protocol";

/** A sync the executor refuses; its message names every unsupported setting. */
export class SyncRefusedError extends Error {
  readonly code = "SYNC_REFUSED";
}

/** The fields each supported setting may have (anything else is refused). */
const SUPPORTED: Record<string, readonly string[] | true> = {
  id: true,
  name: true,
  triggers: true,
  steps: true,
  idempotency: true,
  concurrency: true,
  cancel: true,
  timeouts: ["start", "finish"],
  batchEvents: ["maxSize", "timeout", "key", "if"],
  debounce: ["period", "key", "timeout"],
  throttle: ["limit", "period", "burst", "key"],
  rateLimit: ["limit", "period", "key"],
  priority: ["run"],
  singleton: ["mode", "key"],
};

const TRIGGER_FIELDS = new Set(["event", "expression", "cron", "jitter"]);

/** A cron trigger as Inngest writes it: an optional `TZ=<zone> ` (or `CRON_TZ=`) prefix, then the schedule. */
export function parseCron(expression: string): { pattern: string; timezone?: string } {
  const match = /^\s*(?:CRON_)?TZ=(\S+)\s+(.+)$/.exec(expression);
  return match?.[1] && match[2]
    ? { pattern: match[2].trim(), timezone: match[1] }
    : { pattern: expression.trim() };
}

/** The next tick of a cron expression strictly after `after`. */
export function nextCronTick(expression: string, after: Date): Date | null {
  const { pattern, timezone } = parseCron(expression);
  return new Cron(pattern, { paused: true, ...(timezone ? { timezone } : {}) }).nextRun(after);
}

/** Why this function cannot be run as configured; empty when every setting is supported. */
export function unsupportedSettings(fn: FunctionConfig): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(fn)) {
    if (value === undefined || value === null) continue;
    const fields = SUPPORTED[key];
    if (!fields) {
      problems.push(`setting "${key}" is not supported`);
      continue;
    }
    if (fields === true || typeof value !== "object") continue;
    for (const field of Object.keys(value))
      if (!fields.includes(field)) problems.push(`"${key}.${field}" is not supported`);
  }
  for (const trigger of fn.triggers) {
    for (const field of Object.keys(trigger))
      if (!TRIGGER_FIELDS.has(field)) problems.push(`trigger field "${field}" is not supported`);
    if (trigger.cron !== undefined) {
      try {
        if (!nextCronTick(trigger.cron, new Date()))
          problems.push(`cron "${trigger.cron}" never fires`);
      } catch (err) {
        problems.push(`cron "${trigger.cron}" is invalid: ${(err as Error).message}`);
      }
    }
    if (typeof trigger.jitter === "string" && parseDurationMs(trigger.jitter) === undefined)
      problems.push(`cron jitter "${trigger.jitter}" is not a duration`);
  }
  for (const [name, step] of Object.entries(fn.steps)) {
    const type = (step.runtime as { type?: unknown }).type;
    if (type !== undefined && type !== "http")
      problems.push(`step "${name}" runtime "${String(type)}" (Connect) is not supported`);
  }
  const durations: [string, string | undefined][] = [
    ["batchEvents.timeout", fn.batchEvents?.timeout],
    ["debounce.period", fn.debounce?.period],
    ["debounce.timeout", fn.debounce?.timeout],
    ["throttle.period", fn.throttle?.period],
    ["rateLimit.period", fn.rateLimit?.period],
  ];
  for (const [field, value] of durations)
    if (value !== undefined && !(Number(parseDurationMs(value)) > 0))
      problems.push(`"${field}" must be a positive duration, not "${value}"`);
  // Runs that are opened early and filled later (a batch, a debounce) take their throttle slot
  // and singleton check at the moment they open; Inngest applies them when the run starts.
  // Rather than differ silently, the combinations are refused.
  const deferred = fn.batchEvents ? "batchEvents" : fn.debounce ? "debounce" : undefined;
  if (fn.batchEvents && fn.debounce)
    problems.push(`"batchEvents" with "debounce" is not supported`);
  for (const other of ["throttle", "singleton"] as const)
    if (deferred && fn[other]) problems.push(`"${deferred}" with "${other}" is not supported`);
  return problems;
}
