/**
 * Text clean-up shared by every extractor: byte decoding (BOM, declared
 * charset, HTML meta charset), whitespace normalisation, size capping and word
 * counting.
 */
import { looksBinary, utf16Bom } from "@/lib/ingest/content-type";
import { IngestError } from "@/lib/ingest/errors";

function isKnownEncoding(label: string): boolean {
  try {
    new TextDecoder(label);
    return true;
  } catch {
    return false;
  }
}

const metaCharset = /<meta[^>]+charset\s*=\s*["']?\s*([\w:.-]+)/i;

/**
 * Decodes bytes to a string, preferring a byte order mark, then the declared
 * charset, then (for HTML) a `<meta charset>` in the first 1024 bytes, then
 * UTF-8. Refuses data that is evidently binary, and undecodable UTF-8 where
 * more than a trace of the text would be replacement characters.
 */
export function decodeText(
  bytes: Uint8Array,
  options: { charset?: string; html?: boolean } = {},
): string {
  if (looksBinary(bytes)) throw binaryContent();
  const bom =
    bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? "utf-8" : utf16Bom(bytes);
  let encoding = bom;
  if (!encoding && options.charset && isKnownEncoding(options.charset)) encoding = options.charset;
  if (!encoding && options.html) {
    const declared = metaCharset.exec(
      new TextDecoder("latin1").decode(bytes.subarray(0, 1024)),
    )?.[1];
    if (declared && isKnownEncoding(declared)) encoding = declared;
  }
  const text = new TextDecoder(encoding ?? "utf-8").decode(bytes);
  let replacements = 0;
  for (let i = text.indexOf("\uFFFD"); i !== -1; i = text.indexOf("\uFFFD", i + 1)) replacements++;
  if (replacements > 16 && replacements > text.length / 100) throw binaryContent();
  return text;
}

function binaryContent(): IngestError {
  return new IngestError("corrupt_document", "The file does not contain readable text.");
}

/**
 * Normalises line endings and blank lines, strips a BOM and control
 * characters, and trims trailing spaces. `collapseSpaces` also folds runs of
 * spaces inside lines, for text whose layout carries no meaning (HTML, PDF);
 * Markdown and plain text keep their indentation.
 */
export function normaliseWhitespace(
  text: string,
  options: { collapseSpaces?: boolean } = {},
): string {
  let result = text
    .replace(/^\uFEFF/, "")
    .replace(/\r\n?/g, "\n")
    .replace(/[\u2028\u2029]/g, "\n")
    // C0/C1 controls other than tab and newline; they confuse models and tokenizers.
    .replace(/[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g, "");
  if (options.collapseSpaces) result = result.replace(/[^\S\n]+/g, " ").replace(/^ /gm, "");
  return result
    .replace(/[^\S\n]+$/gm, "")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

/**
 * A title as it can be shown and stored: control characters (a NUL cannot be
 * stored in Postgres text at all) and runs of whitespace become one space, and
 * it is cut at 500 characters. Null when nothing is left.
 */
export function cleanTitle(value: string | null | undefined): string | null {
  const title = value?.replace(/[\s\u0000-\u001F\u007F-\u009F]+/g, " ").trim();
  return title ? title.slice(0, 500) : null;
}

/** Cuts text to at most `maxChars`, at a whitespace boundary when there is one in the last tenth. */
export function capText(text: string, maxChars: number): { text: string; truncated: boolean } {
  if (text.length <= maxChars) return { text, truncated: false };
  let cut = maxChars;
  const floor = Math.floor(maxChars * 0.9);
  while (cut > floor && !/\s/.test(text[cut]!)) cut--;
  if (cut === floor) cut = maxChars;
  // Never leave half of a surrogate pair.
  if (/[\uD800-\uDBFF]/.test(text[cut - 1] ?? "")) cut--;
  return { text: text.slice(0, cut).trimEnd(), truncated: true };
}

// Scripts written without spaces count one word per character, as word processors do.
const unspaced = "\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}";
const wordPattern = new RegExp(
  `[${unspaced}]|[^\\s\\p{P}\\p{S}${unspaced}]+(?:['’][^\\s\\p{P}\\p{S}${unspaced}]+)*`,
  "gu",
);

/**
 * Approximate word count: runs of letters, digits and marks (with inner
 * apostrophes), and single CJK characters. A regular expression rather than
 * Intl.Segmenter's word mode, which costs seconds per megabyte.
 */
export function countWords(text: string): number {
  let count = 0;
  wordPattern.lastIndex = 0;
  while (wordPattern.exec(text)) count++;
  return count;
}
