/**
 * Text primitives for the offline demo model: sentence and word segmentation
 * (Intl.Segmenter, so no language model or dictionary is needed), the
 * normalised "terms" the rankers compare, and the tokens the server streams.
 */
import { eng } from "stopword";
import { stemmer } from "stemmer";

const sentenceSegmenter = new Intl.Segmenter("en", { granularity: "sentence" });
const wordSegmenter = new Intl.Segmenter("en", { granularity: "word" });
const stopwords = new Set(eng);

/** Sentences of `text`, trimmed, in order; blank segments dropped. */
export function splitSentences(text: string): string[] {
  const sentences: string[] = [];
  // Paragraph breaks and list items end a sentence even without punctuation.
  for (const block of text.split(/\n\s*\n|\n(?=\s*(?:[-*+]|\d+[.)])\s)/)) {
    for (const { segment } of sentenceSegmenter.segment(block)) {
      const sentence = segment.replace(/\s+/g, " ").trim();
      if (sentence) sentences.push(sentence);
    }
  }
  return sentences;
}

/** Word-like segments of `text`, lower-cased. */
export function words(text: string): string[] {
  const result: string[] = [];
  for (const { segment, isWordLike } of wordSegmenter.segment(text)) {
    if (isWordLike) result.push(segment.toLowerCase());
  }
  return result;
}

/**
 * Content terms: words without stopwords and one-letter words, stemmed so
 * "indexes" and "indexing" count as the same term.
 */
export function terms(text: string): string[] {
  return words(text)
    .filter((word) => word.length > 1 && !stopwords.has(word))
    .map((word) => stemmer(word));
}

export function isStopword(word: string): boolean {
  return stopwords.has(word.toLowerCase());
}

/**
 * Splits a reply into the tokens the server streams, one per SSE chunk: a
 * word with the punctuation around it and the whitespace after it ("**This ",
 * "trade-offs, "), so the concatenation of all tokens is exactly `text`.
 */
export function streamTokens(text: string): string[] {
  const tokens: string[] = [];
  let current = "";
  let hasWord = false;
  // Where the next token may start: just after whitespace that follows a word.
  let cut = -1;
  for (const { segment, isWordLike } of wordSegmenter.segment(text)) {
    if (isWordLike) {
      if (hasWord && cut >= 0) {
        tokens.push(current.slice(0, cut));
        current = current.slice(cut);
      }
      hasWord = true;
      cut = -1;
    }
    current += segment;
    if (!isWordLike && hasWord && /\s$/.test(segment)) cut = current.length;
  }
  if (current !== "") tokens.push(current);
  return tokens;
}

/** A rough token count for usage figures: word-like segments plus punctuation runs. */
export function countTokens(text: string): number {
  let count = 0;
  for (const { segment, isWordLike } of wordSegmenter.segment(text)) {
    if (isWordLike || /\S/.test(segment)) count += 1;
  }
  return count;
}
