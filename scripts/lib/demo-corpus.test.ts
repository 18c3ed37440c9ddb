/**
 * The demo corpus is real documentation from node_modules, linked to its
 * published pages, imported once, and findable by the questions people ask.
 * It goes into a database of its own so other tests' searches are unaffected.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropDatabase, ensureDatabase, migrate } from "@/lib/db/migrate";
import { importDemoCorpus, importedCounts, publishedPath } from "./demo-corpus";

const databaseUrl = (() => {
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = `${url.pathname}_corpus`;
  return url.toString();
})();

beforeAll(async () => {
  await ensureDatabase(databaseUrl);
  await migrate(databaseUrl);
}, 120_000);
afterAll(() => dropDatabase(databaseUrl));

async function topHits(question: string) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ title: string; source_url: string }>(
      `SELECT title, source_url FROM documents, websearch_to_tsquery('english', $1) q
        WHERE owner_id IS NULL AND search_vector @@ q
        ORDER BY ts_rank_cd(search_vector, q, 1) DESC LIMIT 5`,
      [question],
    );
    return rows;
  } finally {
    await client.end();
  }
}

describe("the demo corpus", () => {
  it("maps files to the docs sites' URLs", () => {
    expect(publishedPath("01-app/02-guides/analytics.md")).toBe("app/guides/analytics");
    expect(publishedPath("01-app/03-api-reference/04-functions/index.md")).toBe(
      "app/api-reference/functions",
    );
    expect(publishedPath("04-ai-sdk-ui/21-transport.mdx")).toBe("ai-sdk-ui/transport");
  });

  it("imports the Next.js and AI SDK docs once, titled and linked, and finds them by question", async () => {
    const lines: string[] = [];
    const imported = await importDemoCorpus(databaseUrl, (line) => lines.push(line), {
      onlyMissing: true,
    });
    const names = imported.map(({ source }) => source.name);
    expect(names).toEqual(expect.arrayContaining(["nextjs-docs", "ai-sdk-docs"]));
    for (const { summary } of imported) {
      expect(summary.created).toBeGreaterThan(200);
      expect(summary.failed).toBe(0);
    }

    const transport = await topHits("useChat transport");
    expect(transport.length).toBeGreaterThan(0);
    expect(transport.map((hit) => hit.source_url)).toContain(
      "https://ai-sdk.dev/docs/ai-sdk-ui/transport",
    );
    const caching = await topHits("route handler caching");
    expect(caching.some((hit) => hit.source_url.startsWith("https://nextjs.org/docs/app/"))).toBe(
      true,
    );
    // Front matter is not text: no document starts with its YAML.
    expect(transport.every((hit) => !hit.title.startsWith("---"))).toBe(true);

    const counts = await importedCounts(databaseUrl);
    const again = await importDemoCorpus(databaseUrl, () => {}, { onlyMissing: true });
    expect(again.filter(({ source }) => counts.has(source.name))).toEqual([]);
  }, 120_000);
});
