"use client";

import { useId } from "react";
import { FieldError, fieldClass } from "./form-controls";
import type { LimitsDraft } from "./job-form-state";

/** A job's budget and deadline (research and batch jobs), with what they mean. */
export function LimitsFields({
  value,
  onChange,
  errorText,
}: {
  value: LimitsDraft;
  onChange: (patch: Partial<LimitsDraft>) => void;
  errorText: (field: string) => string | null;
}) {
  const ids = useId();
  return (
    <div className="mt-3">
      <div className="flex flex-wrap gap-4">
        <div className="w-40">
          <label htmlFor={`${ids}-budget`} className="text-sm font-medium">
            Budget in USD (optional)
          </label>
          <input
            id={`${ids}-budget`}
            inputMode="decimal"
            value={value.budget}
            onChange={(event) => onChange({ budget: event.target.value })}
            placeholder="2.50"
            className={fieldClass}
          />
          <FieldError messages={errorText("budget")} />
        </div>
        <div className="w-48">
          <label htmlFor={`${ids}-deadline`} className="text-sm font-medium">
            Deadline in minutes (optional)
          </label>
          <input
            id={`${ids}-deadline`}
            type="number"
            min={1}
            max={48 * 60}
            value={value.deadlineMinutes}
            onChange={(event) => onChange({ deadlineMinutes: event.target.value })}
            className={fieldClass}
          />
          <FieldError messages={errorText("deadlineMinutes")} />
        </div>
      </div>
      <p className="mt-1 text-sm text-zinc-500">
        The budget is a hard cap: only work that cannot exceed it at its worst-case price starts. At
        the budget or the deadline the job completes with what it has, marked partial.
      </p>
    </div>
  );
}
