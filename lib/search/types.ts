/**
 * The search interface research uses: providers take a query and return
 * ranked hits that name their source by a stable ref (`document:<id>` for the
 * library and the shared corpus, `url:<url>` for the web).
 */
import { z } from "zod";

export const searchHitSchema = z.object({
  ref: z.string().min(1).max(2100),
  title: z.string().max(500),
  url: z.string().max(2048).nullable(),
  documentId: z.string().nullable(),
  snippet: z.string().max(2000),
  /** Provider-relative relevance, higher is better; only comparable within one provider's hits. */
  score: z.number(),
  provider: z.string(),
});
export type SearchHit = z.infer<typeof searchHitSchema>;

export interface SearchOptions {
  /** Whose library is searched besides the shared corpus. */
  ownerId: string;
  limit?: number;
  signal?: AbortSignal;
}

export interface SearchProvider {
  readonly name: string;
  search(query: string, options: SearchOptions): Promise<SearchHit[]>;
}
