/**
 * Search: Postgres full-text search over an owner's library and the shared
 * corpus, and the SearXNG provider against a local fake instance.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anyWordQuery, postgresSearch } from "@/lib/search/postgres-search";
import { searxngSearch } from "@/lib/search/searxng-search";
import { interleave, search, setSearchProviders, type SearchHit } from "@/lib/search";
import { bestPassages } from "@/lib/search/documents";
import { saveDocument } from "@/lib/ingest/save-document";
import { createTestOwner } from "@/lib/jobs/testing";

let owner: string;
let stranger: string;
const ids: Record<string, string> = {};

beforeAll(async () => {
  owner = await createTestOwner();
  stranger = await createTestOwner();
  ids.shared = (
    await saveDocument({
      ownerId: null,
      title: "Routine Vacuuming",
      text: "The autovacuum daemon runs VACUUM when a table has enough dead tuples. Vacuum thresholds depend on table size.",
      mime: "text/html",
    })
  ).id;
  ids.mine = (
    await saveDocument({
      ownerId: owner,
      title: "My notes on indexes",
      text: "A B-tree index speeds up equality and range lookups. Vacuum also cleans index entries.",
      mime: "text/plain",
    })
  ).id;
  ids.theirs = (
    await saveDocument({
      ownerId: stranger,
      title: "Their vacuum notes",
      text: "Vacuum vacuum vacuum: private notes about autovacuum thresholds.",
      mime: "text/plain",
    })
  ).id;
});

describe("postgres search", () => {
  it("turns a question into an any-word query, keeping operators as words", () => {
    expect(anyWordQuery('How does "vacuum" -work OR fail?')).toBe(
      "how or does or vacuum or work or fail",
    );
    expect(anyWordQuery("?!")).toBe("");
  });

  it("ranks the owner's library and the shared corpus, with snippets, and never another owner's documents", async () => {
    const hits = await postgresSearch.search("When does autovacuum vacuum a table?", {
      ownerId: owner,
      limit: 10,
    });
    const refs = hits.map((hit) => hit.ref);
    // Other test files may add shared documents to the same database: compare positions, not places.
    expect(refs).toContain(`document:${ids.shared}`);
    expect(refs.indexOf(`document:${ids.shared}`)).toBeLessThan(
      refs.indexOf(`document:${ids.mine}`),
    );
    expect(refs).not.toContain(`document:${ids.theirs}`);
    const shared = hits.find((hit) => hit.documentId === ids.shared)!;
    expect(shared.snippet).toMatch(/autovacuum/i);
    expect(hits.map((hit) => hit.score)).toEqual(
      [...hits.map((hit) => hit.score)].sort((a, b) => b - a),
    );
  });

  it("finds nothing for words no document has", async () => {
    expect(await postgresSearch.search("xylophone quasar", { ownerId: owner })).toEqual([]);
  });

  it("saves a library's copy of a text once", async () => {
    const again = await saveDocument({
      ownerId: owner,
      title: "Copy",
      text: "A B-tree index speeds up equality and range lookups. Vacuum also cleans index entries.",
      mime: "text/plain",
    });
    expect(again).toEqual({ id: ids.mine, created: false });
  });
});

describe("searxng search", () => {
  let server: http.Server;
  let base: string;
  let lastQuery: URLSearchParams | undefined;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://fake");
      lastQuery = url.searchParams;
      if (url.pathname !== "/search") return void res.writeHead(404).end();
      if (url.searchParams.get("q") === "broken") return void res.writeHead(500).end("oops");
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          results: [
            {
              url: "https://www.postgresql.org/docs/current/routine-vacuuming.html",
              title: "Routine Vacuuming",
              content: "  Vacuum\nmaintenance ",
              score: 3,
            },
            { url: "javascript:alert(1)", title: "Bad", content: "x" },
            { url: "https://example.org/autovacuum", title: "", content: null },
          ],
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("asks for JSON and keeps only http(s) results, as url refs", async () => {
    const hits = await searxngSearch(base).search("vacuum", { ownerId: owner });
    expect(lastQuery?.get("format")).toBe("json");
    expect(lastQuery?.get("q")).toBe("vacuum");
    expect(hits).toEqual([
      expect.objectContaining({
        ref: "url:https://www.postgresql.org/docs/current/routine-vacuuming.html",
        title: "Routine Vacuuming",
        snippet: "Vacuum maintenance",
        documentId: null,
      }),
      expect.objectContaining({
        ref: "url:https://example.org/autovacuum",
        title: "example.org",
        snippet: "",
      }),
    ]);
  });

  it("combines providers, and one failing provider does not fail the search", async () => {
    const restore = setSearchProviders([postgresSearch, searxngSearch(base)]);
    try {
      const hits = await search("autovacuum vacuum", { ownerId: owner, limit: 4 });
      expect(hits.map((hit) => hit.provider)).toEqual(["library", "web", "library", "web"]);
      const library = await search("broken", { ownerId: owner });
      expect(library).toEqual([]);
      setSearchProviders([searxngSearch(base)]);
      await expect(search("broken", { ownerId: owner })).rejects.toThrow(/HTTP 500/);
    } finally {
      restore();
    }
  });
});

describe("helpers", () => {
  it("interleaves ranked lists without repeats", () => {
    const hit = (ref: string) => ({ ref }) as SearchHit;
    expect(
      interleave(
        [
          [hit("a"), hit("b")],
          [hit("a"), hit("c"), hit("d")],
        ],
        10,
      ).map((h) => h.ref),
    ).toEqual(["a", "b", "c", "d"]);
  });

  it("picks the passages of a long text that match the question", () => {
    const filler = Array.from(
      { length: 60 },
      (_, i) => `Sentence ${i} is about gardening and tomatoes.`,
    ).join(" ");
    const text = `${filler}\n\nThe autovacuum daemon decides to vacuum a table when dead tuples exceed the threshold.\n\n${filler}`;
    const passage = bestPassages(text, "When does autovacuum vacuum a table?", { maxChars: 400 });
    expect(passage).toContain("autovacuum daemon decides");
    expect(passage.length).toBeLessThanOrEqual(400);
  });
});
