"use client";

import { useId } from "react";
import { FieldError, fieldClass, Labeled, type FieldGroupProps } from "./form-controls";
import type { JobFormState } from "./job-form-state";
import { LimitsFields } from "./limits-fields";

type Research = JobFormState["research"];

/** The research kind's part of the new-job form: the question and how it runs. */
export function ResearchFields({ value, onChange, errorText }: FieldGroupProps<Research>) {
  const ids = useId();
  const questionError = errorText("question");
  return (
    <div className="mt-4">
      <Labeled htmlFor={`${ids}-question`} label="Question" className="">
        <textarea
          id={`${ids}-question`}
          required
          rows={3}
          value={value.question}
          onChange={(event) => onChange({ question: event.target.value })}
          placeholder="How does PostgreSQL decide when to vacuum a table?"
          aria-invalid={questionError ? true : undefined}
          aria-describedby={questionError ? `${ids}-question-error` : undefined}
          className={fieldClass}
        />
      </Labeled>
      <FieldError id={`${ids}-question-error`} messages={questionError} />
      <label className="mt-3 flex items-center gap-2 text-sm">
        <input
          type="checkbox"
          checked={value.approvePlan}
          onChange={(event) => onChange({ approvePlan: event.target.checked })}
        />
        Let me approve or edit the research plan before it searches
      </label>
      <label className="mt-2 flex items-center gap-2 text-sm">
        <input
          type="checkbox"
          checked={value.economy}
          onChange={(event) => onChange({ economy: event.target.checked })}
        />
        Economy: condense the sources through the provider&apos;s batch API (half the price; the
        report can take hours, up to 24)
      </label>
      <LimitsFields value={value} onChange={onChange} errorText={errorText} />
    </div>
  );
}
