/**
 * The default, offline search: Postgres full-text search over the owner's
 * library and the shared corpus (documents without an owner), through the
 * generated `search_vector` column and its GIN index.
 */
import "server-only";
import { db } from "@/lib/db";
import type { SearchHit, SearchOptions, SearchProvider } from "@/lib/search/types";

/**
 * A research question as a `websearch_to_tsquery` text that matches any of
 * its words: requiring all of them (the default) finds nothing for most
 * questions, and `ts_rank_cd` still ranks documents with more of them first.
 * The words are quoted so that `or`, `-` and quotes in the question stay words.
 */
export function anyWordQuery(question: string): string {
  const words = question.toLowerCase().match(/[\p{L}\p{N}][\p{L}\p{N}_'-]*/gu) ?? [];
  const unique = [...new Set(words.map((word) => word.replace(/['-]+$/, "")))].filter(
    (word) => word.length > 1 && word !== "or",
  );
  return unique.slice(0, 32).join(" or ");
}

interface Row {
  id: string;
  title: string;
  source_url: string | null;
  score: number;
  snippet: string;
}

export const postgresSearch: SearchProvider = {
  name: "library",
  async search(query: string, options: SearchOptions): Promise<SearchHit[]> {
    const text = anyWordQuery(query);
    if (!text) return [];
    const limit = Math.min(Math.max(options.limit ?? 5, 1), 50);
    // Normalisation 1 divides by the log of the length, so long pages that mention
    // every word once do not outrank the page about the subject.
    // NOTE: ts_headline re-parses the document, so it runs on the top rows only,
    // and on the first 200k characters (the headline of a whole book is slow).
    const rows = await db.$queryRaw<Row[]>`
      WITH query AS (SELECT websearch_to_tsquery('english', ${text}) AS q),
      top AS (
        SELECT d.id, d.title, d.source_url, d.text, ts_rank_cd(d.search_vector, query.q, 1) AS score
        FROM documents d, query
        WHERE d.search_vector @@ query.q
          AND (d.owner_id = ${options.ownerId}::uuid OR d.owner_id IS NULL)
        ORDER BY score DESC, d.created_at DESC
        LIMIT ${limit}
      )
      SELECT top.id::text AS id, top.title, top.source_url, top.score::float8 AS score,
        ts_headline('english', left(top.text, 200000), query.q,
          'MaxWords=45, MinWords=20, MaxFragments=2, FragmentDelimiter=" … ", StartSel="", StopSel=""') AS snippet
      FROM top, query
      ORDER BY top.score DESC`;
    return rows.map((row) => ({
      ref: `document:${row.id}`,
      title: row.title,
      url: row.source_url,
      documentId: row.id,
      snippet: row.snippet.replace(/\s+/g, " ").trim().slice(0, 2000),
      score: Number(row.score),
      provider: "library",
    }));
  },
};
