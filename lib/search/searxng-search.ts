/**
 * Optional web search through a SearXNG instance's JSON API
 * (`/search?q=…&format=json`; the instance must enable the json format).
 * The operator configures the URL (`SEARXNG_URL`), so it may be private;
 * the pages it finds are fetched later through the SSRF-safe client.
 */
import "server-only";
import { z } from "zod";
import type { SearchHit, SearchOptions, SearchProvider } from "@/lib/search/types";

const responseSchema = z.object({
  results: z
    .array(
      z.object({
        url: z.string(),
        title: z.string().default(""),
        content: z.string().nullish(),
        score: z.number().nullish(),
      }),
    )
    .default([]),
});

export class SearchProviderError extends Error {
  override name = "SearchProviderError";
}

export function searxngSearch(
  baseUrl: string,
  options: { timeoutMs?: number } = {},
): SearchProvider {
  return {
    name: "web",
    async search(query: string, searchOptions: SearchOptions): Promise<SearchHit[]> {
      const url = new URL("search", baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`);
      url.searchParams.set("q", query);
      url.searchParams.set("format", "json");
      const timeout = AbortSignal.timeout(options.timeoutMs ?? 10_000);
      const response = await fetch(url, {
        headers: { accept: "application/json" },
        signal: searchOptions.signal ? AbortSignal.any([searchOptions.signal, timeout]) : timeout,
      });
      if (!response.ok)
        throw new SearchProviderError(`Web search answered HTTP ${response.status}`);
      const body = responseSchema.parse(await response.json());
      const limit = searchOptions.limit ?? 5;
      const hits: SearchHit[] = [];
      for (const [i, result] of body.results.entries()) {
        if (!URL.canParse(result.url) || !/^https?:$/.test(new URL(result.url).protocol)) continue;
        hits.push({
          ref: `url:${result.url}`,
          title: (result.title || new URL(result.url).hostname).slice(0, 500),
          url: result.url,
          documentId: null,
          snippet: (result.content ?? "").replace(/\s+/g, " ").trim().slice(0, 2000),
          score: result.score ?? 1 / (i + 1),
          provider: "web",
        });
        if (hits.length >= limit) break;
      }
      return hits;
    },
  };
}
