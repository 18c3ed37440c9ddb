import { describe, expect, it } from "vitest";
import { chunkText, pagesInRange, type TextChunk } from "@/lib/ingest/chunk-text";

// Small deterministic PRNG so the generated corpus is the same on every run.
function random(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function corpus(seed: number, paragraphs: number): string {
  const next = random(seed);
  const words = [
    "data",
    "index",
    "vacuum",
    "replica",
    "query",
    "planner",
    "tuple",
    "heap",
    "lock",
    "transaction",
    "checkpoint",
    "wal",
  ];
  const sentence = () => {
    const length = 3 + Math.floor(next() * 25);
    const body = Array.from({ length }, () => words[Math.floor(next() * words.length)]).join(" ");
    return body[0]!.toUpperCase() + body.slice(1) + (next() < 0.8 ? "." : "?");
  };
  return Array.from({ length: paragraphs }, () =>
    Array.from({ length: 1 + Math.floor(next() * 12) }, sentence).join(" "),
  ).join("\n\n");
}

const isSpace = (char: string | undefined) => char === undefined || /\s/.test(char);

function checkInvariants(text: string, chunks: TextChunk[], maxChars: number, overlap: number) {
  const covered = new Uint8Array(text.length);
  chunks.forEach((chunk, index) => {
    expect(chunk.index).toBe(index);
    expect(chunk.text).toBe(text.slice(chunk.start, chunk.end));
    expect(chunk.text.length).toBeGreaterThan(0);
    expect(chunk.text.length).toBeLessThanOrEqual(maxChars);
    expect(chunk.text).toBe(chunk.text.trim());
    // Never mid-word: the characters outside each end are whitespace or the text's edge.
    expect(isSpace(text[chunk.start - 1])).toBe(true);
    expect(isSpace(text[chunk.end])).toBe(true);
    covered.fill(1, chunk.start, chunk.end);
    if (index > 0) {
      const previous = chunks[index - 1]!;
      expect(chunk.start).toBeGreaterThan(previous.start);
      expect(chunk.end).toBeGreaterThan(previous.end);
      expect(Math.max(0, previous.end - chunk.start)).toBeLessThanOrEqual(overlap);
    }
  });
  for (let i = 0; i < text.length; i++) {
    if (!covered[i] && !isSpace(text[i]))
      throw new Error(`character ${i} (${JSON.stringify(text[i])}) is in no chunk`);
  }
}

describe("chunkText", () => {
  it("returns nothing for empty or blank text, and one trimmed chunk for short text", () => {
    expect(chunkText("")).toEqual([]);
    expect(chunkText(" \n\n\t ")).toEqual([]);
    expect(chunkText("  Hello world.  ")).toEqual([
      { index: 0, text: "Hello world.", start: 2, end: 14 },
    ]);
  });

  it.each([
    [1, 200, 0],
    [2, 500, 50],
    [3, 1000, 200],
    [4, 80, 20],
    [5, 4000, 400],
  ])(
    "respects the bounds and covers the whole text (seed %i, maxChars %i, overlap %i)",
    (seed, maxChars, overlap) => {
      const text = corpus(seed, 60);
      const chunks = chunkText(text, { maxChars, overlap });
      expect(chunks.length).toBeGreaterThan(0);
      checkInvariants(text, chunks, maxChars, overlap);
    },
  );

  it("prefers paragraph boundaries", () => {
    const paragraph = (letter: string) => `${letter.repeat(5)} ${"word ".repeat(14).trim()}.`;
    const text = [paragraph("a"), paragraph("b"), paragraph("c")].join("\n\n");
    const chunks = chunkText(text, { maxChars: 180, overlap: 0 });
    expect(chunks.map((chunk) => chunk.text)).toEqual([
      `${paragraph("a")}\n\n${paragraph("b")}`,
      paragraph("c"),
    ]);
  });

  it("falls back to sentence boundaries inside a long paragraph", () => {
    const text = Array.from({ length: 40 }, (_, i) => `Sentence number ${i} ends here.`).join(" ");
    const chunks = chunkText(text, { maxChars: 200, overlap: 0 });
    expect(chunks.length).toBeGreaterThan(5);
    for (const chunk of chunks)
      expect(chunk.text).toMatch(/^Sentence number \d+ ends here\..*ends here\.$/);
    checkInvariants(text, chunks, 200, 0);
  });

  it("overlaps by whole sentences", () => {
    const text = Array.from({ length: 30 }, (_, i) => `Fact ${i} is true.`).join(" ");
    const chunks = chunkText(text, { maxChars: 100, overlap: 40 });
    for (let i = 1; i < chunks.length; i++) {
      expect(chunks[i]!.start).toBeLessThan(chunks[i - 1]!.end);
      expect(chunks[i]!.text).toMatch(/^Fact \d+ is true\./);
    }
    checkInvariants(text, chunks, 100, 40);
  });

  it("splits between words inside an over-long sentence, and cuts a word only when it alone is too long", () => {
    const sentence = "alpha beta gamma delta ".repeat(50).trim();
    checkInvariants(sentence, chunkText(sentence, { maxChars: 60, overlap: 0 }), 60, 0);

    const word = "x".repeat(2500);
    const chunks = chunkText(`intro ${word} outro`, { maxChars: 1000, overlap: 0 });
    expect(chunks.map((chunk) => chunk.text.length)).toEqual([5, 1000, 1000, 506]);
  });

  it("never splits a surrogate pair when cutting an over-long word", () => {
    const emoji = "😀".repeat(100);
    const chunks = chunkText(emoji, { maxChars: 25, overlap: 0 });
    for (const chunk of chunks) expect(chunk.text).toMatch(/^(?:😀)+$/u);
    expect(chunks.map((chunk) => chunk.text).join("")).toBe(emoji);
  });

  it("segments sentences without spaces (CJK)", () => {
    const text = "这是第一句话。".repeat(40);
    const chunks = chunkText(text, { maxChars: 50, overlap: 0, locale: "zh" });
    for (const chunk of chunks) expect(chunk.text).toMatch(/^(这是第一句话。)+$/);
    expect(chunks.map((chunk) => chunk.text).join("")).toBe(text);
  });

  it("is deterministic", () => {
    const text = corpus(9, 40);
    expect(chunkText(text, { maxChars: 300, overlap: 60 })).toEqual(
      chunkText(text, { maxChars: 300, overlap: 60 }),
    );
  });

  it("sizes by tokens at four characters per token", () => {
    const chunks = chunkText(corpus(11, 30), { maxTokens: 100 });
    expect(Math.max(...chunks.map((chunk) => chunk.text.length))).toBeLessThanOrEqual(400);
  });

  it("rejects contradictory or out-of-range options", () => {
    expect(() => chunkText("x", { maxChars: 100, maxTokens: 10 })).toThrow();
    expect(() => chunkText("x", { maxChars: 5 })).toThrow();
    expect(() => chunkText("x", { overlap: -1 })).toThrow();
  });

  it("handles multi-megabyte inputs, including pathological ones", () => {
    const big = corpus(12, 20_000);
    expect(big.length).toBeGreaterThan(3_000_000);
    checkInvariants(big, chunkText(big, { maxChars: 4000, overlap: 200 }), 4000, 200);

    const noSpaces = "z".repeat(2_000_000);
    const solid = chunkText(noSpaces, { maxChars: 4000, overlap: 200 });
    expect(solid).toHaveLength(500);
    expect(solid.at(-1)!.end).toBe(noSpaces.length);

    const tinySentences = "A. ".repeat(200_000);
    const tiny = chunkText(tinySentences, { maxChars: 4000, overlap: 200 });
    checkInvariants(tinySentences, tiny, 4000, 200);
  });
});

describe("pagesInRange", () => {
  it("lists the pages a span touches", () => {
    const pages = [
      { page: 1, start: 0, end: 100 },
      { page: 2, start: 102, end: 200 },
      { page: 4, start: 202, end: 300 },
    ];
    expect(pagesInRange(pages, 50, 150)).toEqual([1, 2]);
    expect(pagesInRange(pages, 100, 102)).toEqual([]);
    expect(pagesInRange(pages, 0, 300)).toEqual([1, 2, 4]);
  });
});
