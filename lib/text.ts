/**
 * The one text schema every user-typed string goes through at the boundary
 * (titles, questions, pasted text, plan edits, renames).
 *
 * NOTE: Postgres refuses a NUL byte in text, and a lone UTF-16 surrogate is
 * not text at all (it cannot be encoded as UTF-8), so either used to reach the
 * database and fail there as a 500. Such input is refused here, with a 400
 * whose issue path names the field, rather than silently stripped: it almost
 * always means binary data pasted by mistake, and a changed text would be
 * stored (and summarized) as if the user had written it.
 */
import { z } from "zod";

// Without the `u` flag the pattern sees UTF-16 code units, so it can find unpaired halves.
const UNSAFE_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const UNSAFE_TEXT_MESSAGE =
  "Text cannot contain NUL characters or unpaired UTF-16 surrogates.";

export function isSafeText(value: string): boolean {
  return !UNSAFE_TEXT.test(value);
}

/** `z.string()` that refuses NUL characters and lone surrogates; chain `.trim()`, `.min()`, … as usual. */
export function safeText() {
  return z.string().refine(isSafeText, UNSAFE_TEXT_MESSAGE);
}
