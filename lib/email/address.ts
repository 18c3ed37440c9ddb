/**
 * Address and header-text validation. Nothing a user typed may reach a mail
 * header as more than one line: addresses are validated (zod's email format
 * admits no whitespace, so no CR/LF), and free text bound for a header (the
 * subject, display names) is flattened to one line first.
 */
import { z } from "zod";

export const emailAddressSchema = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email({ error: "Enter a valid email address" }));

/** Every control character (CR, LF, NUL, tab, …, and the Unicode line separators) becomes a space. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;

/** One line of at most `max` characters, safe to put in a header. */
export function headerText(value: string, max = 150): string {
  const line = value.replace(CONTROL, " ").replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1).trimEnd()}…` : line;
}
