/** The corpus import: what it stores, what it skips, and that a second run changes nothing. */
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importCorpus, markdownWithFrontMatter } from "./corpus";

let dir: string;
const databaseUrl = () => process.env.DATABASE_URL!;

async function stored(prefix: string) {
  const client = new pg.Client({ connectionString: databaseUrl() });
  await client.connect();
  try {
    const { rows } = await client.query<{
      filename: string;
      title: string;
      source_url: string | null;
      mime: string;
      text: string;
    }>(
      "SELECT filename, title, source_url, mime, text FROM documents WHERE owner_id IS NULL AND filename LIKE $1 ORDER BY filename",
      [`${prefix}/%`],
    );
    return rows;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "corpus-"));
  await mkdir(path.join(dir, "sub"));
  await writeFile(
    path.join(dir, "vacuum.html"),
    "<!doctype html><html><head><title>Routine Vacuuming</title></head><body><main><h1>Routine Vacuuming</h1><p>The autovacuum daemon removes dead tuples so their space can be reused by later updates.</p><p>It also keeps planner statistics current.</p></main></body></html>",
  );
  await writeFile(
    path.join(dir, "sub", "notes.md"),
    "# WAL notes\n\nWrite-ahead logging makes commits durable.\n",
  );
  await writeFile(
    path.join(dir, "sub", "readme.txt"),
    "Plain text about checkpoints and the background writer.\n",
  );
  await writeFile(path.join(dir, "image.png"), new Uint8Array([137, 80, 78, 71]));
  await writeFile(path.join(dir, "empty.txt"), "");
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("corpus import", () => {
  it("imports HTML, Markdown and text files as shared documents, and skips what it cannot read", async () => {
    const lines: string[] = [];
    const summary = await importCorpus(dir, {
      databaseUrl: databaseUrl(),
      baseUrl: "https://docs.example.org/15/",
      log: (line) => lines.push(line),
    });
    expect(summary).toEqual({ files: 4, created: 3, updated: 0, unchanged: 0, failed: 1 });
    const prefix = path.basename(dir);
    const rows = await stored(prefix);
    expect(rows.map((row) => [row.filename, row.title, row.source_url, row.mime])).toEqual([
      [
        `${prefix}/sub/notes.md`,
        "WAL notes",
        "https://docs.example.org/15/sub/notes.md",
        "text/markdown",
      ],
      [
        `${prefix}/sub/readme.txt`,
        "readme",
        "https://docs.example.org/15/sub/readme.txt",
        "text/plain",
      ],
      [
        `${prefix}/vacuum.html`,
        "Routine Vacuuming",
        "https://docs.example.org/15/vacuum.html",
        "text/html",
      ],
    ]);
    expect(rows[2]!.text).toContain("autovacuum daemon removes dead tuples");
    expect(lines.at(-1)).toMatch(/^corpus: 4\/4 \(3 new, 0 updated, 0 unchanged, 1 skipped\)$/);
  });

  it("is idempotent, and replaces a file whose text changed", async () => {
    await writeFile(
      path.join(dir, "sub", "readme.txt"),
      "Plain text about checkpoints, revised.\n",
    );
    const summary = await importCorpus(dir, { databaseUrl: databaseUrl(), log: () => undefined });
    expect(summary).toEqual({ files: 4, created: 0, updated: 1, unchanged: 2, failed: 1 });
    const rows = await stored(path.basename(dir));
    expect(rows).toHaveLength(3);
    expect(rows[1]!.text).toContain("revised");
  });
});

describe("markdownWithFrontMatter", () => {
  it("leads with the front matter's title and description and drops what MDX adds to prose", () => {
    const text = markdownWithFrontMatter(
      [
        "---",
        "title: Transport",
        "description: Custom transports for useChat.",
        "---",
        "import { Note } from '@/components';",
        "",
        "{/* The content of this doc is shared between routers. */}",
        "<Note>",
        "The transport sends messages.",
        "</Note>",
        '<Tabs items={["a", "b"]}>',
        "Use `DefaultChatTransport` by default.",
      ].join("\n"),
    );
    expect(text).toBe(
      [
        "# Transport",
        "Custom transports for useChat.",
        "The transport sends messages.\n\nUse `DefaultChatTransport` by default.",
      ].join("\n\n"),
    );
  });
});
