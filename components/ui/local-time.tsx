"use client";

import { useSyncExternalStore } from "react";

const serverFormat = new Intl.DateTimeFormat("en", {
  dateStyle: "medium",
  timeStyle: "short",
  timeZone: "UTC",
});
const formats = {
  short: { dateStyle: "medium", timeStyle: "short" },
  seconds: { dateStyle: "medium", timeStyle: "medium" },
} as const;

const noop = () => () => {};

/**
 * A date in the reader's own time zone and locale. The server cannot know
 * them, so the server render (and hydration) shows UTC, and the browser
 * re-renders in local time right after: no hydration mismatch.
 */
export function LocalTime({
  date,
  precision = "short",
}: {
  date: Date;
  precision?: keyof typeof formats;
}) {
  const hydrated = useSyncExternalStore(
    noop,
    () => true,
    () => false,
  );
  const text = hydrated
    ? new Intl.DateTimeFormat(undefined, formats[precision]).format(date)
    : `${serverFormat.format(date)} UTC`;
  return <time dateTime={date.toISOString()}>{text}</time>;
}
