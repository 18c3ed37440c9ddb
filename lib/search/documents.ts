/**
 * Documents for jobs: downloading a URL through the SSRF-safe client and
 * extracting its text, saving text to a library (the owner's, or the shared
 * corpus when the owner is null) deduplicated by checksum, and picking the
 * passages of a long text that best match a question.
 */
import "server-only";
import { createHash } from "node:crypto";
import { stemmer } from "stemmer";
import { removeStopwords } from "stopword";
import { db } from "@/lib/db";
import { chunkText } from "@/lib/ingest/chunk-text";
import { extractText, type ExtractedDocument } from "@/lib/ingest/extract-text";
import { fetchDocument, type FetchDocumentOptions } from "@/lib/ingest/fetch-document";

type NetworkPolicy = Pick<FetchDocumentOptions, "allowPrivateNetworks" | "trustedPrivateHosts">;

let networkPolicy: NetworkPolicy = {};

/**
 * NOTE: tests serve documents from loopback, which the SSRF guard refuses.
 * They widen the policy here, in process; it is never read from a request.
 * Returns a function that restores the previous policy.
 */
export function setDocumentNetworkPolicy(policy: NetworkPolicy): () => void {
  const previous = networkPolicy;
  networkPolicy = policy;
  return () => {
    networkPolicy = previous;
  };
}

export interface DownloadedDocument extends ExtractedDocument {
  url: string;
  contentType: string;
}

export async function downloadDocument(
  url: string,
  options: {
    signal?: AbortSignal;
    maxChars?: number;
    onProgress?: (p: { page: number; pages: number }) => void | Promise<void>;
  } = {},
): Promise<DownloadedDocument> {
  const fetched = await fetchDocument(url, { ...networkPolicy, signal: options.signal });
  const extracted = await extractText(
    {
      bytes: fetched.bytes,
      contentType: fetched.contentType,
      charset: fetched.charset,
      fileName: fetched.fileName,
      url: fetched.url,
    },
    { signal: options.signal, maxChars: options.maxChars, onProgress: options.onProgress },
  );
  return { ...extracted, url: fetched.url, contentType: fetched.contentType };
}

export function checksumOf(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

export interface SaveDocumentInput {
  ownerId: string | null;
  title: string;
  text: string;
  mime: string;
  sourceUrl?: string | null;
  filename?: string | null;
}

/** Saves a document unless the same library already holds the same text; returns its id and whether it was new. */
export async function saveDocument(
  input: SaveDocumentInput,
): Promise<{ id: string; created: boolean }> {
  const checksum = checksumOf(input.text);
  const existing = await db.document.findFirst({
    where: { checksum, ownerId: input.ownerId },
    select: { id: true },
  });
  if (existing) return { id: existing.id, created: false };
  const created = await db.document.create({
    data: {
      ownerId: input.ownerId,
      title: input.title.replace(/\s+/g, " ").trim().slice(0, 300) || "Untitled",
      text: input.text,
      mime: input.mime,
      checksum,
      sourceUrl: input.sourceUrl ?? null,
      filename: input.filename ?? null,
    },
    select: { id: true },
  });
  return { id: created.id, created: true };
}

/** Stemmed content words, so "vacuuming" in a passage matches "vacuum" in the question. */
function stems(text: string): string[] {
  const words = text.toLowerCase().match(/[\p{L}\p{N}_]{3,}/gu) ?? [];
  return removeStopwords(words).map((word) => stemmer(word));
}

/**
 * The parts of `text` that share the most words with `query`, in document
 * order, at most `maxChars` in all. Only the first 400k characters are
 * considered: enough for a book, and bounded work per source.
 */
export function bestPassages(
  text: string,
  query: string,
  options: { maxChars?: number; passageChars?: number } = {},
): string {
  const maxChars = options.maxChars ?? 1_600;
  const wanted = new Set(stems(query));
  const chunks = chunkText(text.slice(0, 400_000), {
    maxChars: options.passageChars ?? 800,
    overlap: 0,
  });
  // BM25-like: rare question words count for more, repeats for a little more.
  const counts = chunks.map((chunk) => {
    const frequency = new Map<string, number>();
    for (const word of stems(chunk.text))
      if (wanted.has(word)) frequency.set(word, (frequency.get(word) ?? 0) + 1);
    return frequency;
  });
  const weight = new Map<string, number>();
  for (const word of wanted) {
    const containing = counts.filter((frequency) => frequency.has(word)).length;
    weight.set(word, containing ? Math.log(1 + chunks.length / containing) : 0);
  }
  const scored = chunks.map((chunk, i) => {
    let score = 0;
    for (const [word, n] of counts[i]!) score += weight.get(word)! * (1 + Math.log(n));
    return { chunk, score };
  });
  const picked: typeof chunks = [];
  let used = 0;
  for (const { chunk } of [...scored].sort(
    (a, b) => b.score - a.score || a.chunk.index - b.chunk.index,
  )) {
    if (used + chunk.text.length > maxChars && picked.length > 0) break;
    picked.push(chunk);
    used += chunk.text.length;
  }
  return picked
    .sort((a, b) => a.index - b.index)
    .map((chunk) => chunk.text.trim())
    .join("\n…\n")
    .slice(0, maxChars);
}
