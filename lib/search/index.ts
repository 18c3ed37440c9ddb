/**
 * Search for research jobs: the offline library search always, plus a web
 * provider when one is configured. Hits from several providers are
 * interleaved by rank (their scores are not comparable) and deduplicated by ref.
 */
import "server-only";
import { env } from "@/lib/env";
import { postgresSearch } from "@/lib/search/postgres-search";
import { searxngSearch } from "@/lib/search/searxng-search";
import type { SearchHit, SearchOptions, SearchProvider } from "@/lib/search/types";
import { logger } from "@/lib/logger";

export type { SearchHit, SearchOptions, SearchProvider } from "@/lib/search/types";

let override: SearchProvider[] | undefined;

export function searchProviders(): SearchProvider[] {
  if (override) return override;
  const providers: SearchProvider[] = [postgresSearch];
  if (env.SEARXNG_URL) providers.push(searxngSearch(env.SEARXNG_URL));
  return providers;
}

/** Replaces the providers (tests); returns a function that restores the configured ones. */
export function setSearchProviders(providers: SearchProvider[]): () => void {
  const previous = override;
  override = providers;
  return () => {
    override = previous;
  };
}

/** Interleaves ranked lists: first hit of each, then the second of each, … without repeats. */
export function interleave(lists: readonly SearchHit[][], limit: number): SearchHit[] {
  const merged: SearchHit[] = [];
  const seen = new Set<string>();
  for (let i = 0; merged.length < limit && lists.some((list) => i < list.length); i++) {
    for (const list of lists) {
      const hit = list[i];
      if (!hit || seen.has(hit.ref)) continue;
      seen.add(hit.ref);
      merged.push(hit);
      if (merged.length >= limit) break;
    }
  }
  return merged;
}

/**
 * Searches every provider. One failing provider does not fail the search
 * (the others still answer); if all fail, the first error is thrown so that
 * the step is retried.
 */
export async function search(query: string, options: SearchOptions): Promise<SearchHit[]> {
  const providers = searchProviders();
  const settled = await Promise.allSettled(
    providers.map((provider) => provider.search(query, options)),
  );
  const lists: SearchHit[][] = [];
  let firstError: unknown;
  settled.forEach((outcome, i) => {
    if (outcome.status === "fulfilled") lists.push(outcome.value);
    else {
      firstError ??= outcome.reason;
      logger.warn("search.provider_failed", {
        provider: providers[i]!.name,
        error: outcome.reason,
      });
    }
  });
  if (lists.length === 0 && firstError) throw firstError;
  return interleave(lists, options.limit ?? 5);
}
