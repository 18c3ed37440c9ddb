import { cn } from "@/components/ui/cn";
import type { JobStatus } from "@/lib/jobs/schemas";

const barColors: Record<JobStatus, string> = {
  queued: "bg-zinc-400",
  running: "bg-indigo-600",
  waiting_for_input: "bg-amber-500",
  completed: "bg-emerald-600",
  failed: "bg-red-600",
  cancelled: "bg-zinc-400",
};

/** A labelled progressbar; `label` names it for assistive technology. */
export function JobProgressBar({
  progress,
  status,
  label,
  className,
}: {
  progress: number;
  status: JobStatus;
  label: string;
  className?: string;
}) {
  const percent = Math.round(Math.min(1, Math.max(0, progress)) * 100);
  return (
    <div
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={percent}
      aria-valuetext={`${percent}%`}
      className={cn(
        "h-2 w-full overflow-hidden rounded-full bg-zinc-200 dark:bg-zinc-800",
        className,
      )}
    >
      <div
        className={cn(
          "h-full rounded-full transition-[width] duration-500 ease-out",
          barColors[status],
        )}
        style={{ width: `${percent}%` }}
      />
    </div>
  );
}
