import { describe, expect, it } from "vitest";
import { splitSentences, streamTokens, terms } from "@/lib/ai/demo-model/text";
import {
  defaultSummaryLength,
  rankSentences,
  sentenceSimilarity,
  summarize,
} from "@/lib/ai/demo-model/textrank";

// A text about one subject with two sentences about nothing else in it.
const OFF_TOPIC = [
  "The weather in Lisbon was sunny all weekend.",
  "My neighbour's cat likes to sleep on warm keyboards.",
];
const TEXT = [
  "PostgreSQL uses multiversion concurrency control, so readers never block writers.",
  "Each row version records the transactions that created and deleted the row.",
  OFF_TOPIC[0],
  "Vacuum removes row versions that no running transaction can see any more.",
  "Without regular vacuum, tables bloat with dead row versions and transaction ids run towards wraparound.",
  OFF_TOPIC[1],
  "Autovacuum starts vacuum on a table when enough of its row versions are dead.",
  "Tuning autovacuum for large tables keeps dead row versions and bloat under control.",
].join(" ");

function totalSimilarity(sentence: string, all: string[]): number {
  return all
    .filter((other) => other !== sentence)
    .reduce((sum, other) => sum + sentenceSimilarity(terms(sentence), terms(other)), 0);
}

describe("TextRank summaries", () => {
  it("returns the requested number of sentences, verbatim from the input and in document order", () => {
    const summary = summarize(TEXT, 3);
    expect(summary).toHaveLength(3);
    const indexes = summary.map((sentence) => sentence.index);
    expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
    for (const sentence of summary) expect(TEXT).toContain(sentence.text);
  });

  it("never picks sentences that share nothing with the rest of the text", () => {
    for (let k = 1; k <= 6; k++) {
      const chosen = summarize(TEXT, k).map((sentence) => sentence.text);
      for (const outlier of OFF_TOPIC) expect(chosen).not.toContain(outlier);
    }
  });

  it("prefers the sentences most connected to the others", () => {
    const sentences = splitSentences(TEXT);
    const chosen = summarize(TEXT, 3).map((sentence) => sentence.text);
    const rest = sentences.filter((sentence) => !chosen.includes(sentence));
    const weakestChosen = Math.min(
      ...chosen.map((sentence) => totalSimilarity(sentence, sentences)),
    );
    const medianRest = rest
      .map((sentence) => totalSimilarity(sentence, sentences))
      .sort((a, b) => a - b)[Math.floor(rest.length / 2)]!;
    expect(weakestChosen).toBeGreaterThan(medianRest);
    // The top-ranked sentence is the one with the most weighted overlap overall.
    const ranked = rankSentences(TEXT).sort((a, b) => b.score - a.score);
    const mostConnected = [...sentences].sort(
      (a, b) => totalSimilarity(b, sentences) - totalSimilarity(a, sentences),
    )[0];
    expect(ranked[0]!.text).toBe(mostConnected);
  });

  it("is deterministic", () => {
    expect(summarize(TEXT, 3)).toEqual(summarize(TEXT, 3));
  });

  it("handles empty and one-sentence texts", () => {
    expect(summarize("", 3)).toEqual([]);
    expect(summarize("Only one sentence here.", 3).map((s) => s.text)).toEqual([
      "Only one sentence here.",
    ]);
  });

  it("grows the default length slowly", () => {
    expect(defaultSummaryLength(1)).toBe(1);
    expect(defaultSummaryLength(9)).toBe(3);
    expect(defaultSummaryLength(400)).toBe(5);
  });
});

describe("text primitives", () => {
  it("streams tokens that concatenate back to the exact text", () => {
    const text = "**Bold** start, trade-offs: `code` [1].\n\n- item one\n- item two  \n";
    const tokens = streamTokens(text);
    expect(tokens.join("")).toBe(text);
    expect(tokens.length).toBeGreaterThan(5);
    expect(tokens).toContain("**Bold** ");
  });

  it("splits paragraphs and list items into sentences", () => {
    expect(splitSentences("First one. Second one!\n\n- an item\n- another item")).toEqual([
      "First one.",
      "Second one!",
      "- an item",
      "- another item",
    ]);
  });

  it("stems content words and drops stopwords", () => {
    expect(terms("The indexes are indexing the tables")).toEqual(terms("index indexed table"));
  });
});
