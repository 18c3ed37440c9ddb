/**
 * Splits extracted text into chunks for the map step of summarize/research.
 *
 * Each chunk is an exact slice of the source (`text === source.slice(start,
 * end)`), so a citation can point back into the document, and to a PDF page
 * with `pagesInRange`. Cuts fall on paragraph boundaries when one is in the
 * second half of the chunk, otherwise on sentence boundaries (Intl.Segmenter),
 * otherwise between words; a word is only cut when it alone exceeds the limit.
 * Deterministic and linear in the input length.
 */
import { z } from "zod";
import type { PageSpan } from "@/lib/ingest/extract-pdf";
import { defaultSegmentWindow, segmentSpans } from "@/lib/ingest/segment";

/** Rough English-average ratio; good enough to size chunks for a context window, not for billing. */
export const charsPerToken = 4;

export const chunkOptionsSchema = z
  .object({
    maxChars: z.number().int().min(20).max(200_000).optional(),
    /** Alternative to maxChars, converted at `charsPerToken`. */
    maxTokens: z.number().int().min(5).max(50_000).optional(),
    /** Characters of context repeated from the end of one chunk at the start of the next (whole sentences). */
    overlap: z.number().int().min(0).optional(),
    /** BCP 47 locale for sentence segmentation (default: the runtime's). */
    locale: z.string().optional(),
  })
  .refine((options) => options.maxChars === undefined || options.maxTokens === undefined, {
    message: "Give maxChars or maxTokens, not both.",
  });

export type ChunkOptions = z.input<typeof chunkOptionsSchema>;

export interface TextChunk {
  index: number;
  text: string;
  /** Offsets in the source text (end exclusive). */
  start: number;
  end: number;
}

export const chunkDefaults = { maxChars: 4_000, overlap: 200 } as const;

export function estimateTokens(text: string): number {
  return Math.ceil(text.length / charsPerToken);
}

// Boundary strength after a unit: where a cut is best made.
const Boundary = { Word: 0, Sentence: 1, Paragraph: 2 } as const;
type Boundary = (typeof Boundary)[keyof typeof Boundary];

interface Unit {
  start: number;
  end: number;
  boundary: Boundary;
}

export function chunkText(text: string, options: ChunkOptions = {}): TextChunk[] {
  const parsed = chunkOptionsSchema.parse(options);
  const maxChars =
    parsed.maxChars ??
    (parsed.maxTokens !== undefined ? parsed.maxTokens * charsPerToken : chunkDefaults.maxChars);
  const overlap = Math.min(
    parsed.overlap ?? Math.min(chunkDefaults.overlap, Math.floor(maxChars / 10)),
    Math.floor(maxChars / 2),
  );
  const units = splitUnits(text, maxChars, parsed.locale);

  const chunks: TextChunk[] = [];
  let first = 0;
  while (first < units.length) {
    const start = units[first]!.start;
    let next = first + 1;
    while (next < units.length && units[next]!.end - start <= maxChars) next++;
    if (next < units.length) next = bestCut(units, first, next, start + maxChars / 2);
    const end = units[next - 1]!.end;
    chunks.push({ index: chunks.length, text: text.slice(start, end), start, end });
    if (next >= units.length) break;
    first = overlapStart(units, first, next, overlap, maxChars);
  }
  return chunks;
}

/**
 * Chooses the end (exclusive unit index) of a chunk spanning units [first,
 * limit): the last paragraph end past `halfway`, else the last sentence end
 * past it, else `limit` itself.
 */
function bestCut(units: Unit[], first: number, limit: number, halfway: number): number {
  let sentence = -1;
  for (let i = limit - 1; i >= first && units[i]!.end >= halfway; i--) {
    const boundary = units[i]!.boundary;
    if (boundary === Boundary.Paragraph) return i + 1;
    if (boundary === Boundary.Sentence && sentence === -1) sentence = i + 1;
  }
  return sentence === -1 ? limit : sentence;
}

/** First unit of the next chunk: step back over whole units within `overlap`, always moving forward. */
function overlapStart(
  units: Unit[],
  first: number,
  next: number,
  overlap: number,
  maxChars: number,
): number {
  if (overlap === 0) return next;
  const previousEnd = units[next - 1]!.end;
  let start = next;
  while (start - 1 > first && previousEnd - units[start - 1]!.start <= overlap) start--;
  // The next chunk must still fit its first new unit.
  while (start < next && units[next]!.end - units[start]!.start > maxChars) start++;
  return start;
}

const paragraphBreak = /\n[^\S\n]*\n\s*/g;

function splitUnits(text: string, maxChars: number, locale: string | undefined): Unit[] {
  const units: Unit[] = [];
  const sentences = new Intl.Segmenter(locale, { granularity: "sentence" });
  // A whole number of chunks, at least two: a cut forced by the window is then
  // rare, never mid-word, and falls where a chunk would end anyway.
  const window = maxChars * Math.max(2, Math.ceil(defaultSegmentWindow / maxChars));
  let paragraphStart = 0;
  const addParagraph = (from: number, to: number) => {
    const [start, end] = trimSpan(text, from, to);
    if (start >= end) return;
    const before = units.length;
    for (const segment of segmentSpans(sentences, text, start, end, window)) {
      const [sentenceStart, sentenceEnd] = trimSpan(text, segment.start, segment.end);
      if (sentenceStart >= sentenceEnd) continue;
      if (sentenceEnd - sentenceStart <= maxChars)
        units.push({ start: sentenceStart, end: sentenceEnd, boundary: Boundary.Sentence });
      else splitWords(text, sentenceStart, sentenceEnd, maxChars, units);
    }
    if (units.length > before) units[units.length - 1]!.boundary = Boundary.Paragraph;
  };
  paragraphBreak.lastIndex = 0;
  for (let match = paragraphBreak.exec(text); match; match = paragraphBreak.exec(text)) {
    addParagraph(paragraphStart, match.index);
    paragraphStart = match.index + match[0].length;
  }
  addParagraph(paragraphStart, text.length);
  return units;
}

/** Packs the words of an over-long sentence into pieces; a single over-long word is cut at the limit. */
function splitWords(text: string, from: number, to: number, maxChars: number, units: Unit[]): void {
  const words = /\S+/g;
  words.lastIndex = from;
  let pieceStart = -1;
  let pieceEnd = -1;
  for (let match = words.exec(text); match && match.index < to; match = words.exec(text)) {
    let wordStart = match.index;
    const wordEnd = Math.min(wordStart + match[0].length, to);
    if (pieceStart !== -1 && wordEnd - pieceStart <= maxChars) {
      pieceEnd = wordEnd;
      continue;
    }
    if (pieceStart !== -1)
      units.push({ start: pieceStart, end: pieceEnd, boundary: Boundary.Word });
    while (wordEnd - wordStart > maxChars) {
      let cut = wordStart + maxChars;
      // Never separate a surrogate pair.
      if (isHighSurrogate(text.charCodeAt(cut - 1))) cut--;
      units.push({ start: wordStart, end: cut, boundary: Boundary.Word });
      wordStart = cut;
    }
    pieceStart = wordStart;
    pieceEnd = wordEnd;
  }
  if (pieceStart !== -1)
    units.push({ start: pieceStart, end: pieceEnd, boundary: Boundary.Sentence });
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function trimSpan(text: string, from: number, to: number): [number, number] {
  let start = from;
  let end = to;
  while (start < end && whitespace.test(text[start]!)) start++;
  while (end > start && whitespace.test(text[end - 1]!)) end--;
  return [start, end];
}

// The same notion of whitespace as the \S+ word pattern.
const whitespace = /\s/;

/** PDF pages that a span of the extracted text touches, for citing a chunk by page. */
export function pagesInRange(pages: readonly PageSpan[], start: number, end: number): number[] {
  const touched: number[] = [];
  for (const page of pages) {
    if (page.end > start && page.start < end) touched.push(page.page);
  }
  return touched;
}
