import { describe, expect, it } from "vitest";
import { segmentSpans } from "@/lib/ingest/segment";

const sentences = new Intl.Segmenter("en", { granularity: "sentence" });

function onePass(text: string) {
  return Array.from(sentences.segment(text), (s) => ({
    start: s.index,
    end: s.index + s.segment.length,
  }));
}

describe("segmentSpans", () => {
  it("matches a single pass when every segment is shorter than the window", () => {
    const text = Array.from(
      { length: 200 },
      (_, i) => `Sentence ${i} has ${"words ".repeat(i % 9)}in it.`,
    ).join(" ");
    const windowed = Array.from(
      segmentSpans(sentences, text, 0, text.length, 300),
      ({ start, end }) => ({ start, end }),
    );
    expect(windowed).toEqual(onePass(text));
  });

  it("respects from and to", () => {
    const text = "Skip this. Keep this one. And this. Skip again.";
    const from = text.indexOf("Keep");
    const to = text.indexOf("Skip again") - 1;
    expect(
      Array.from(segmentSpans(sentences, text, from, to, 20), ({ start, end }) =>
        text.slice(start, end),
      ),
    ).toEqual(["Keep this one. ", "And this."]);
  });

  it("cuts a segment longer than the window at whitespace, and covers everything exactly once", () => {
    const text = `${"long ".repeat(100)}end. Short one.`;
    const spans = Array.from(segmentSpans(sentences, text, 0, text.length, 64));
    expect(spans[0]).toMatchObject({ start: 0 });
    for (let i = 1; i < spans.length; i++) expect(spans[i]!.start).toBe(spans[i - 1]!.end);
    expect(spans.at(-1)!.end).toBe(text.length);
    for (const span of spans.slice(0, -2))
      expect(text.slice(span.start, span.end)).toMatch(/^ ?(long ?)+$/);
  });
});
