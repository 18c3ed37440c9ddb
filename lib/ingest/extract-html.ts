/**
 * Readable text from HTML: Mozilla Readability over a linkedom DOM, falling
 * back to the whole body when Readability finds no article (index pages,
 * manuals, short pages).
 *
 * NOTE: linkedom rather than jsdom: no layout, no script execution, a fraction
 * of the memory, and Readability needs only the DOM tree.
 */
import { Readability } from "@mozilla/readability";
import { Parser } from "htmlparser2";
import { parseHTML } from "linkedom";
import { IngestError } from "@/lib/ingest/errors";
import { cleanTitle, normaliseWhitespace } from "@/lib/ingest/normalise";

type DomDocument = ReturnType<typeof parseHTML>["document"];

interface DomNode {
  nodeType: number;
  nodeName: string;
  childNodes: ArrayLike<DomNode>;
  textContent: string | null;
}

// Elements whose start and end separate paragraphs.
const paragraphElements = new Set([
  "ADDRESS",
  "ARTICLE",
  "ASIDE",
  "BLOCKQUOTE",
  "DETAILS",
  "DIV",
  "DL",
  "FIELDSET",
  "FIGCAPTION",
  "FIGURE",
  "FOOTER",
  "FORM",
  "H1",
  "H2",
  "H3",
  "H4",
  "H5",
  "H6",
  "HEADER",
  "HR",
  "MAIN",
  "NAV",
  "OL",
  "P",
  "PRE",
  "SECTION",
  "SUMMARY",
  "TABLE",
  "UL",
]);
// Elements that start a new line without starting a paragraph.
const lineElements = new Set(["BR", "LI", "TR", "DT", "DD", "CAPTION"]);
const cellElements = new Set(["TD", "TH"]);
const skippedElements = new Set([
  "SCRIPT",
  "STYLE",
  "NOSCRIPT",
  "TEMPLATE",
  "SVG",
  "CANVAS",
  "IFRAME",
  "OBJECT",
  "EMBED",
  "HEAD",
  "SELECT",
  "BUTTON",
]);

/**
 * Text of a DOM subtree with paragraph structure kept as blank lines, so the
 * chunker can split on it. Iterative, so hostile nesting depth cannot
 * overflow the stack.
 */
export function domToText(root: DomNode): string {
  const out: string[] = [];
  const stack: { node: DomNode; leaving: boolean; pre: boolean }[] = [
    { node: root, leaving: false, pre: false },
  ];
  while (stack.length > 0) {
    const { node, leaving, pre } = stack.pop()!;
    if (node.nodeType === 3) {
      const text = (node.textContent ?? "").replace(/[\u0001\u0002]/g, "");
      out.push(pre ? text : text.replace(/\s+/g, " "));
      continue;
    }
    if (node.nodeType !== 1 && node.nodeType !== 9 && node.nodeType !== 11) continue;
    const name = node.nodeName.toUpperCase();
    if (skippedElements.has(name)) continue;
    const separator = paragraphElements.has(name)
      ? paragraphBreak
      : lineElements.has(name)
        ? lineBreak
        : cellElements.has(name)
          ? " "
          : "";
    out.push(separator);
    if (leaving) continue;
    stack.push({ node, leaving: true, pre });
    const inPre = pre || name === "PRE";
    // NOTE: read once: linkedom builds a new childNodes list on every access,
    // so indexing it in the loop made a page of many paragraphs quadratic.
    const children = node.childNodes;
    for (let i = children.length - 1; i >= 0; i--)
      stack.push({ node: children[i]!, leaving: false, pre: inPre });
  }
  // Adjacent breaks merge into the strongest one (</li><li> is one line break,
  // </p><ul> one paragraph break); spaces next to a break are layout.
  const text = out
    .join("")
    .replace(/[ \t]*[\u0001\u0002][\u0001\u0002 \t]*/g, (run) =>
      run.includes(paragraphBreak) ? "\n\n" : "\n",
    );
  return normaliseWhitespace(text);
}

const lineBreak = "\u0001";
const paragraphBreak = "\u0002";

class DeeperThanLimit extends Error {}

/**
 * Deepest element nesting and number of elements, by a streaming parse (no
 * tree). Depth is counted up to `depthLimit`: one level past it the parse
 * stops and `depthLimit + 1` is returned.
 * NOTE: htmlparser2 keeps its open elements with `Array.unshift`, which costs
 * time in proportion to the depth, so a full parse of 100,000 nested elements
 * takes tens of seconds; stopping at the limit keeps the check cheap.
 */
export function htmlShape(
  html: string,
  depthLimit = Number.POSITIVE_INFINITY,
): { depth: number; elements: number } {
  let depth = 0;
  let max = 0;
  let elements = 0;
  const parser = new Parser(
    {
      onopentag() {
        elements++;
        depth++;
        if (depth > max) max = depth;
        if (max > depthLimit) throw new DeeperThanLimit();
      },
      onclosetag() {
        depth--;
      },
    },
    { decodeEntities: false },
  );
  try {
    parser.end(html);
  } catch (error) {
    if (!(error instanceof DeeperThanLimit)) throw error;
  }
  return { depth: max, elements };
}

// Real pages nest a few dozen levels. linkedom's tree building degrades
// quadratically with depth and Readability worse, so hostile nesting is
// refused outright, and Readability is skipped well before that.
const maxNestingDepth = 2_000;
const maxReadabilityDepth = 400;
const maxReadabilityElements = 100_000;

function parseDocument(html: string): DomDocument {
  const { document } = parseHTML(html);
  // linkedom builds no <html>/<body> around a fragment; give it one.
  if (document.documentElement?.nodeName !== "HTML") {
    return parseHTML(
      `<!doctype html><html><head></head><body>${html.replace(/^\s*<!doctype[^>]*>/i, "")}</body></html>`,
    ).document;
  }
  return document;
}

export interface HtmlExtraction {
  title: string | null;
  text: string;
  /** Whether Readability's article was used (false: whole-body fallback). */
  usedReadability: boolean;
}

export function extractHtml(html: string): HtmlExtraction {
  const { depth, elements } = htmlShape(html, maxNestingDepth);
  if (depth > maxNestingDepth) {
    throw new IngestError("corrupt_document", "This page is too deeply nested to read.", {
      detail: `nesting depth ${depth}`,
    });
  }
  const document = parseDocument(html);
  const documentTitle =
    cleanTitle(document.title) ?? cleanTitle(document.querySelector("h1")?.textContent);
  const bodyText = domToText(document.body as unknown as DomNode);

  let article: ReturnType<Readability["parse"]> = null;
  // Readability would refuse a page over maxElemsToParse only after a second full parse; skip it first.
  if (depth <= maxReadabilityDepth && elements <= maxReadabilityElements) {
    try {
      // Readability rewrites the tree it is given, so it gets its own copy.
      const copy = parseDocument(html) as unknown as Document;
      article = new Readability(copy, {
        charThreshold: 200,
        maxElemsToParse: maxReadabilityElements,
      }).parse();
    } catch {
      // Over maxElemsToParse, or a DOM feature linkedom lacks: the body text stands in.
      article = null;
    }
  }
  const articleText = article?.content
    ? domToText(parseDocument(article.content).body as unknown as DomNode)
    : "";
  // Readability sometimes keeps a sliver of a page that is not an article (a
  // manual's table of contents, a list page); the body is better then.
  const useArticle =
    articleText.length > 0 && articleText.length >= Math.min(500, bodyText.length * 0.5);
  return {
    title: cleanTitle(article?.title) ?? documentTitle,
    text: useArticle ? articleText : bodyText,
    usedReadability: useArticle,
  };
}
