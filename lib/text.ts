/**
 * The one text schema every user-typed string goes through at the boundary
 * (chat messages and history, titles, questions, pasted text, plan edits,
 * renames, batch items).
 *
 * NOTE: Postgres refuses a NUL byte in text, and a lone UTF-16 surrogate is
 * not text at all (it cannot be encoded as UTF-8; JSON escapes can produce
 * one), so either used to reach the database or the model and fail there as a
 * 500. Such input is refused here, with a 400 whose issue path names the
 * field, rather than silently stripped: it almost always means binary data
 * pasted by mistake, and a changed text would be stored (and summarized) as if
 * the user had written it.
 */
import { z } from "zod";

const NUL = "\u0000";
// Without the `u` flag the pattern sees UTF-16 code units, so it can find unpaired halves.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const NUL_TEXT_MESSAGE = "Text cannot contain a NUL byte: it cannot be stored.";
export const LONE_SURROGATE_MESSAGE = "Text cannot contain an unpaired UTF-16 surrogate.";

/** Why a text cannot be stored, in words for the user; null when it can. */
export function unsafeTextReason(value: string): string | null {
  if (value.includes(NUL)) return NUL_TEXT_MESSAGE;
  if (LONE_SURROGATE.test(value)) return LONE_SURROGATE_MESSAGE;
  return null;
}

export function isSafeText(value: string): boolean {
  return unsafeTextReason(value) === null;
}

/** `z.string()` that refuses NUL characters and lone surrogates; chain `.trim()`, `.min()`, … as usual. */
export function safeText() {
  return z.string().check((ctx) => {
    const reason = unsafeTextReason(ctx.value);
    if (reason) ctx.issues.push({ code: "custom", message: reason, input: ctx.value });
  });
}
