/**
 * The demo research corpus, so a research job has real sources on any
 * machine with no setup: the documentation that ships inside Dispatch's own
 * dependencies, plus Debian's PostgreSQL manual where it is installed.
 *
 * | source        | files                                  | license                                   |
 * |---------------|----------------------------------------|-------------------------------------------|
 * | Next.js docs  | node_modules/next/dist/docs (Markdown) | MIT, © Vercel, Inc. (next's license.md)   |
 * | AI SDK docs   | node_modules/ai/docs (MDX)             | Apache-2.0, © Vercel, Inc. (ai's LICENSE) |
 * | PostgreSQL 15 | /usr/share/doc/postgresql-doc-15/html  | PostgreSQL License (postgresql-doc-15)    |
 *
 * Each document links to its published page, so a report's citations open
 * the real documentation. Used by `npm run db:seed` (every source, updating
 * changed files) and, in the background, by `npm run dev` (sources not yet
 * imported).
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import pg from "pg";
import { importCorpus, type ImportSummary } from "./corpus";

const require = createRequire(import.meta.url);

export interface CorpusSource {
  /** Key prefix of its documents. */
  name: string;
  label: string;
  license: string;
  dir: string;
  urlFor(relativePath: string): string;
}

/** `01-app/02-guides/index.md` → `app/guides`: the docs sites drop order prefixes and extensions. */
export function publishedPath(relativePath: string): string {
  return relativePath
    .replace(/\.(md|mdx)$/i, "")
    .split("/")
    .map((segment) => segment.replace(/^\d+-/, ""))
    .filter((segment, i, all) => !(segment === "index" && i === all.length - 1))
    .join("/");
}

function packageDir(name: string): string {
  return path.dirname(require.resolve(`${name}/package.json`));
}

export function demoCorpusSources(): CorpusSource[] {
  return [
    {
      name: "nextjs-docs",
      label: "Next.js documentation",
      license: "MIT",
      dir: path.join(packageDir("next"), "dist", "docs"),
      urlFor: (file) => new URL(publishedPath(file), "https://nextjs.org/docs/").toString(),
    },
    {
      name: "ai-sdk-docs",
      label: "AI SDK documentation",
      license: "Apache-2.0",
      dir: path.join(packageDir("ai"), "docs"),
      urlFor: (file) => new URL(publishedPath(file), "https://ai-sdk.dev/docs/").toString(),
    },
    {
      // NOTE: named after its folder, as `npm run corpus:import` keyed it
      // before sources had names, so existing databases are not imported twice.
      name: "html",
      label: "PostgreSQL 15 manual",
      license: "PostgreSQL License",
      dir: "/usr/share/doc/postgresql-doc-15/html",
      urlFor: (file) => new URL(file, "https://www.postgresql.org/docs/15/").toString(),
    },
  ];
}

/** How many shared documents each source already has. */
export async function importedCounts(databaseUrl: string): Promise<Map<string, number>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string; count: string }>(
      `SELECT split_part(filename, '/', 1) AS name, count(*) AS count
         FROM documents WHERE owner_id IS NULL GROUP BY 1`,
    );
    return new Map(rows.map((row) => [row.name, Number(row.count)]));
  } finally {
    await client.end();
  }
}

/**
 * Imports the demo corpus: every available source, or with `onlyMissing`
 * just the sources that have no documents yet. Returns one summary per
 * source imported.
 */
export async function importDemoCorpus(
  databaseUrl: string,
  log: (line: string) => void,
  options: { onlyMissing?: boolean } = {},
): Promise<Array<{ source: CorpusSource; summary: ImportSummary }>> {
  const counts = options.onlyMissing ? await importedCounts(databaseUrl) : new Map();
  const results = [];
  for (const source of demoCorpusSources()) {
    if (!existsSync(source.dir)) {
      log(`corpus: ${source.label} is not installed here (${source.dir}); skipped`);
      continue;
    }
    if ((counts.get(source.name) ?? 0) > 0) continue;
    log(`corpus: importing the ${source.label} (${source.license})`);
    const summary = await importCorpus(source.dir, {
      databaseUrl,
      name: source.name,
      urlFor: source.urlFor,
      log,
    });
    results.push({ source, summary });
  }
  return results;
}
