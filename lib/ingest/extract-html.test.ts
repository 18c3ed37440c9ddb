/** The costs of reading HTML: what keeps hostile or merely huge pages from taking seconds per element. */
import { Readability } from "@mozilla/readability";
import { afterEach, describe, expect, it, vi } from "vitest";
import { domToText, extractHtml, htmlShape } from "@/lib/ingest/extract-html";

afterEach(() => {
  vi.restoreAllMocks();
});

interface FakeNode {
  nodeType: number;
  nodeName: string;
  childNodes: FakeNode[];
  textContent: string | null;
}

describe("domToText", () => {
  it("reads each element's child list once (linkedom rebuilds it on every read)", () => {
    let reads = 0;
    const paragraphs: FakeNode[] = Array.from({ length: 1000 }, (_, index) => ({
      nodeType: 1,
      nodeName: "P",
      childNodes: [
        { nodeType: 3, nodeName: "#text", childNodes: [], textContent: `Line ${index}` },
      ],
      textContent: null,
    }));
    const body = {
      nodeType: 1,
      nodeName: "BODY",
      textContent: null,
      get childNodes() {
        reads++;
        return paragraphs;
      },
    };
    const text = domToText(body);
    expect(text.split("\n\n")).toHaveLength(1000);
    expect(reads).toBe(1);
  });
});

describe("htmlShape", () => {
  it("counts elements and depth, and stops one level past the depth limit", () => {
    // A void element (<br>) counts as a level while it is open, like any other.
    expect(htmlShape("<body><div><p>a</p><p>b<br></p></div></body>")).toEqual({
      depth: 4,
      elements: 5,
    });
    const nested = `<body>${"<div>".repeat(100_000)}deep${"</div>".repeat(100_000)}</body>`;
    expect(htmlShape(nested, 2_000).depth).toBe(2_001);
  });
});

describe("extractHtml", () => {
  it("skips Readability on a page with more elements than it may parse, without parsing it twice", () => {
    const parse = vi.spyOn(Readability.prototype, "parse");
    const big = extractHtml(`<body>${"<p>word</p>".repeat(100_001)}</body>`);
    expect(big.usedReadability).toBe(false);
    expect(big.text.startsWith("word\n\nword")).toBe(true);
    expect(parse).not.toHaveBeenCalled();
    extractHtml(`<body>${"<p>Some words in a paragraph.</p>".repeat(10)}</body>`);
    expect(parse).toHaveBeenCalledTimes(1);
  });
});
