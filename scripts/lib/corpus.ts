/**
 * Imports a folder of HTML, Markdown/MDX and plain-text files as shared
 * research documents (no owner: searched for every user).
 *
 * Idempotent: a file is keyed by `<source name>/<relative path>`; unchanged
 * text (same SHA-256) is skipped, changed text replaces the stored copy.
 * Each document's source URL comes from a base URL or a mapping, so a report's
 * citations link to the published page.
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import matter from "gray-matter";
import pg from "pg";
import { extractText, formatFor } from "@/lib/ingest/extract-text";

const contentTypes: Record<string, string> = {
  ".html": "text/html",
  ".htm": "text/html",
  ".xhtml": "application/xhtml+xml",
  ".md": "text/markdown",
  ".mdx": "text/markdown",
  ".markdown": "text/markdown",
  ".txt": "text/plain",
};

export interface ImportOptions {
  databaseUrl: string;
  /** Prefix of every document's key; defaults to the folder's name. */
  name?: string;
  /** Source URL of each document: the base URL plus its path… */
  baseUrl?: string;
  /** …or computed from its path (a published site whose URLs differ from its files). */
  urlFor?: (relativePath: string) => string;
  log?: (line: string) => void;
}

/**
 * Documentation sources (Next.js', the AI SDK's) are Markdown/MDX with YAML
 * front matter: its title and description lead the text, and what MDX adds
 * that is not prose (import/export lines, comments, component tags) is dropped.
 */
export function markdownWithFrontMatter(source: string): string {
  const { data, content } = matter(source);
  const body = content
    .replace(/^(?:import|export)\s.*$/gm, "")
    // MDX comments, and lines that are only a component's tag (<Note>, </Tab>).
    .replace(/\{\/\*[\s\S]*?\*\/\}/g, "")
    .replace(/^\s*<\/?[A-Z][\w.]*(?:\s[^>]*)?\/?>\s*$/gm, "")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
  const title = typeof data.title === "string" ? data.title.trim() : "";
  const description = typeof data.description === "string" ? data.description.trim() : "";
  const hasHeading = /^#\s/m.test(body.slice(0, 2000));
  return [title && !hasHeading ? `# ${title}` : "", description, body].filter(Boolean).join("\n\n");
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
      const posixPath = relative.split(path.sep).join("/");
      const key = `${options.name ?? path.basename(root)}/${posixPath}`;
      try {
        const contentType = contentTypes[path.extname(relative).toLowerCase()]!;
        let bytes = new Uint8Array(await readFile(path.join(root, relative)));
        if (contentType === "text/markdown") {
          const text = markdownWithFrontMatter(new TextDecoder().decode(bytes));
          bytes = new TextEncoder().encode(text);
        }
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
        const sourceUrl = options.urlFor
          ? options.urlFor(posixPath)
          : options.baseUrl
            ? new URL(posixPath, options.baseUrl).toString()
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
