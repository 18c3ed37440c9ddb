"use client";

import { useEffect, useState } from "react";
import { cn } from "@/components/ui/cn";
import { formatDuration, type TimelineStep } from "@/lib/jobs/view-model";

const barStyles: Record<TimelineStep["state"], string> = {
  running: "bg-indigo-500 animate-pulse",
  done: "bg-emerald-500",
  failed: "bg-red-500",
};

/** Re-renders every second while something runs, so running bars grow. */
function useNow(active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return now;
}

/**
 * The steps as a horizontal timeline (a small Gantt chart): where each step
 * started and how long it took, relative to the whole job. The bars are
 * decoration; the same facts are in each row's text for screen readers.
 */
export function StepTimeline({ steps, live }: { steps: readonly TimelineStep[]; live: boolean }) {
  const now = useNow(live && steps.some((step) => !step.endedAt));
  if (steps.length === 0) {
    return <p className="text-sm text-zinc-500">No steps have run yet.</p>;
  }
  const start = Math.min(...steps.map((step) => step.startedAt.getTime()));
  const end = Math.max(
    ...steps.map((step) => (step.endedAt ?? new Date(now)).getTime()),
    start + 1,
  );
  const span = end - start;

  return (
    <div>
      <ol aria-label="Steps" className="space-y-1.5">
        {steps.map((step) => {
          const from = step.startedAt.getTime();
          const to = (step.endedAt ?? new Date(now)).getTime();
          const offset = ((from - start) / span) * 100;
          const width = Math.max(0.75, ((to - from) / span) * 100);
          const duration = formatDuration(to - from);
          const stateText =
            step.state === "running" ? "running" : step.state === "failed" ? "failed" : "done";
          return (
            <li
              key={step.step}
              data-testid="timeline-step"
              className="grid grid-cols-[minmax(6rem,11rem)_1fr_4.5rem] items-center gap-3 text-sm"
            >
              <span className="truncate" title={step.label}>
                {step.label}
              </span>
              <span
                aria-hidden="true"
                className="relative h-3 rounded bg-zinc-100 dark:bg-zinc-900"
              >
                <span
                  className={cn("absolute inset-y-0 rounded", barStyles[step.state])}
                  style={{
                    left: `${Math.min(offset, 99.25)}%`,
                    width: `${Math.min(width, 100 - Math.min(offset, 99.25))}%`,
                  }}
                />
              </span>
              <span className="text-right text-xs text-zinc-500 tabular-nums">
                <span className="sr-only">{stateText}, </span>
                {step.state === "running" ? `${duration}…` : duration}
              </span>
            </li>
          );
        })}
      </ol>
      <p
        className="mt-2 flex justify-between text-xs text-zinc-500 tabular-nums"
        aria-hidden="true"
      >
        <span>0 s</span>
        <span>{formatDuration(span)}</span>
      </p>
    </div>
  );
}
