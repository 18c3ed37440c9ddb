"use client";

import { useEffect, useRef } from "react";

export function Composer({
  value,
  onChange,
  onSubmit,
  onStop,
  busy,
  stopping,
  maxChars,
}: {
  value: string;
  onChange: (value: string) => void;
  onSubmit: () => void;
  onStop: () => void;
  busy: boolean;
  stopping: boolean;
  maxChars: number;
}) {
  const textarea = useRef<HTMLTextAreaElement>(null);
  const tooLong = value.length > maxChars;

  useEffect(() => {
    const element = textarea.current;
    if (!element) return;
    element.style.height = "auto";
    element.style.height = `${Math.min(element.scrollHeight, 240)}px`;
  }, [value]);

  return (
    <form
      className="border-t border-zinc-200 bg-white p-3 sm:p-4 dark:border-zinc-800 dark:bg-zinc-950"
      onSubmit={(event) => {
        event.preventDefault();
        if (!busy && !tooLong && value.trim()) onSubmit();
      }}
    >
      <div className="mx-auto flex max-w-3xl items-end gap-2">
        <label htmlFor="composer" className="sr-only">
          Message
        </label>
        <textarea
          id="composer"
          ref={textarea}
          rows={1}
          value={value}
          onChange={(event) => onChange(event.target.value)}
          onKeyDown={(event) => {
            if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
              event.preventDefault();
              event.currentTarget.form?.requestSubmit();
            }
          }}
          placeholder="Ask anything… (Enter to send, Shift+Enter for a new line)"
          aria-invalid={tooLong || undefined}
          aria-describedby={tooLong ? "composer-limit" : undefined}
          className="max-h-60 min-h-11 flex-1 resize-none rounded-lg border border-zinc-300 bg-white px-3 py-2.5 text-sm shadow-sm placeholder:text-zinc-400 focus:border-indigo-500 focus:outline-none dark:border-zinc-700 dark:bg-zinc-900"
        />
        {busy ? (
          <button
            type="button"
            onClick={onStop}
            disabled={stopping}
            className="h-11 rounded-lg bg-zinc-800 px-4 text-sm font-medium text-white hover:bg-zinc-700 disabled:opacity-60 dark:bg-zinc-200 dark:text-zinc-900 dark:hover:bg-white"
          >
            {stopping ? "Stopping…" : "Stop"}
          </button>
        ) : (
          <button
            type="submit"
            disabled={!value.trim() || tooLong}
            className="h-11 rounded-lg bg-indigo-600 px-4 text-sm font-medium text-white hover:bg-indigo-500 disabled:opacity-50"
          >
            Send
          </button>
        )}
      </div>
      {tooLong ? (
        <p
          id="composer-limit"
          role="alert"
          className="mx-auto mt-2 max-w-3xl text-xs text-red-600 dark:text-red-400"
        >
          {value.length.toLocaleString("en")} / {maxChars.toLocaleString("en")} characters: shorten
          the message to send it.
        </p>
      ) : null}
    </form>
  );
}
