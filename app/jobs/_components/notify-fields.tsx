"use client";

import { useId } from "react";
import { FieldError, fieldClass, type FieldGroupProps } from "./form-controls";
import type { JobFormState } from "./job-form-state";

type Notify = JobFormState["notify"];

/** "Email me when it is done", and the address. */
export function NotifyFields({ value, onChange, errorText }: FieldGroupProps<Notify>) {
  const ids = useId();
  const emailError = errorText("notifyEmail");
  return (
    <div className="mt-4">
      <label className="flex items-center gap-2 text-sm">
        <input
          type="checkbox"
          checked={value.enabled}
          onChange={(event) => onChange({ enabled: event.target.checked })}
        />
        Email me when it is done
      </label>
      {value.enabled ? (
        <div className="mt-2 max-w-sm">
          <label htmlFor={`${ids}-email`} className="sr-only">
            Email address
          </label>
          <input
            id={`${ids}-email`}
            type="email"
            autoComplete="email"
            required
            value={value.email}
            onChange={(event) => onChange({ email: event.target.value })}
            placeholder="you@example.org"
            aria-invalid={emailError ? true : undefined}
            className={fieldClass}
          />
          <FieldError messages={emailError} />
        </div>
      ) : null}
    </div>
  );
}
