/**
 * `npm run corpus:import <dir> [--base-url <url>]`: imports a folder of HTML,
 * Markdown and plain-text files as the shared research corpus (documents with
 * no owner, searched for every user). Debian's PostgreSQL manual is a good
 * one: `npm run corpus:import /usr/share/doc/postgresql-doc-15/html --
 * --base-url https://www.postgresql.org/docs/15/`.
 *
 * Idempotent: a file is keyed by `<folder name>/<relative path>`; unchanged
 * text (same SHA-256) is skipped, changed text replaces the stored copy.
 * With `--base-url`, each document's source URL is the base plus its path, so
 * the report's citations link to the published page.
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import nextEnv from "@next/env";
import pg from "pg";
import { extractText, formatFor } from "@/lib/ingest/extract-text";

const contentTypes: Record<string, string> = {
  ".html": "text/html",
  ".htm": "text/html",
  ".xhtml": "application/xhtml+xml",
  ".md": "text/markdown",
  ".markdown": "text/markdown",
  ".txt": "text/plain",
};

export interface ImportOptions {
  databaseUrl: string;
  baseUrl?: string;
  log?: (line: string) => void;
}

export interface ImportSummary {
  files: number;
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && contentTypes[path.extname(entry.name).toLowerCase()])
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

export async function importCorpus(dir: string, options: ImportOptions): Promise<ImportSummary> {
  const log = options.log ?? ((line: string) => console.log(line));
  const root = path.resolve(dir);
  const files = await listFiles(root);
  const summary: ImportSummary = {
    files: files.length,
    created: 0,
    updated: 0,
    unchanged: 0,
    failed: 0,
  };
  log(`corpus: ${files.length} files in ${root}`);
  const client = new pg.Client({ connectionString: options.databaseUrl });
  await client.connect();
  try {
    for (const [i, relative] of files.entries()) {
      const key = `${path.basename(root)}/${relative.split(path.sep).join("/")}`;
      try {
        const contentType = contentTypes[path.extname(relative).toLowerCase()]!;
        const bytes = new Uint8Array(await readFile(path.join(root, relative)));
        const extracted = await extractText({
          bytes,
          contentType,
          fileName: path.basename(relative),
        });
        const checksum = createHash("sha256").update(extracted.text).digest("hex");
        const title = (extracted.title ?? path.basename(relative, path.extname(relative)))
          .replace(/\s+/g, " ")
          .trim()
          .slice(0, 300);
        const sourceUrl = options.baseUrl
          ? new URL(relative.split(path.sep).join("/"), options.baseUrl).toString()
          : null;
        const mime =
          formatFor(contentType, relative) === "markdown" ? "text/markdown" : contentType;
        const existing = await client.query<{ id: string; checksum: string }>(
          "SELECT id, checksum FROM documents WHERE owner_id IS NULL AND filename = $1 LIMIT 1",
          [key],
        );
        const row = existing.rows[0];
        if (row?.checksum === checksum) summary.unchanged++;
        else if (row) {
          await client.query(
            "UPDATE documents SET title = $2, text = $3, checksum = $4, source_url = $5, mime = $6, updated_at = now() WHERE id = $1",
            [row.id, title, extracted.text, checksum, sourceUrl, mime],
          );
          summary.updated++;
        } else {
          await client.query(
            `INSERT INTO documents (owner_id, title, text, source_url, filename, mime, checksum, updated_at)
             VALUES (NULL, $1, $2, $3, $4, $5, $6, now())`,
            [title, extracted.text, sourceUrl, key, mime, checksum],
          );
          summary.created++;
        }
      } catch (error) {
        summary.failed++;
        log(`corpus: skipped ${relative}: ${(error as Error).message}`);
      }
      if ((i + 1) % 100 === 0 || i + 1 === files.length) {
        log(
          `corpus: ${i + 1}/${files.length} (${summary.created} new, ${summary.updated} updated, ${summary.unchanged} unchanged, ${summary.failed} skipped)`,
        );
      }
    }
  } finally {
    await client.end();
  }
  return summary;
}

function parseArgs(argv: string[]): { dir?: string; baseUrl?: string } {
  const args: { dir?: string; baseUrl?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--base-url") args.baseUrl = argv[++i];
    else if (arg.startsWith("--base-url=")) args.baseUrl = arg.slice("--base-url=".length);
    else args.dir ??= arg;
  }
  return args;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const { parseEnv } = await import("@/lib/env-schema");
  nextEnv.loadEnvConfig(process.cwd(), true, { info: () => {}, error: console.error });
  const { dir, baseUrl } = parseArgs(process.argv.slice(2));
  if (!dir) {
    console.error("usage: npm run corpus:import <dir> [-- --base-url <url>]");
    process.exit(2);
  }
  if (baseUrl && !URL.canParse(baseUrl)) {
    console.error(`--base-url is not a URL: ${baseUrl}`);
    process.exit(2);
  }
  const summary = await importCorpus(dir, {
    databaseUrl: parseEnv(process.env).DATABASE_URL,
    baseUrl,
  });
  console.log(
    `corpus: done, ${summary.created} new, ${summary.updated} updated, ${summary.unchanged} unchanged, ${summary.failed} skipped`,
  );
}
