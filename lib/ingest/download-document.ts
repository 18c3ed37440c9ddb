/**
 * A document at a user-supplied URL, down to extracted text: the SSRF-safe
 * download (fetch-document.ts) followed by extraction (extract-text.ts), under
 * one network policy for the whole process.
 */
import "server-only";
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
  /** The URL the document was finally served from (after redirects). */
  url: string;
  contentType: string;
}

export async function downloadDocument(
  url: string,
  options: { signal?: AbortSignal } = {},
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
    { signal: options.signal },
  );
  return { ...extracted, url: fetched.url, contentType: fetched.contentType };
}
