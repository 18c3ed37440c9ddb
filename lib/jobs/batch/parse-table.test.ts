import { describe, expect, it } from "vitest";
import { parseBatchTable } from "@/lib/jobs/batch/parse-table";
import { BATCH_LIMITS } from "@/lib/jobs/schemas";

describe("parseBatchTable", () => {
  it("reads a CSV's text column with quotes, commas and newlines, and labels from title", () => {
    const items = parseBatchTable(
      "csv",
      '\uFEFFtitle,text\nFirst,"One, with a comma"\n\nSecond,"Two\nlines, ""quoted"""\n',
    );
    expect(items).toEqual([
      { position: 1, label: "First", text: "One, with a comma" },
      { position: 2, label: "Second", text: 'Two\nlines, "quoted"' },
    ]);
  });

  it("uses a CSV's first column when none is called text, and the text's start as its label", () => {
    expect(parseBatchTable("csv", "body\nJust some text")).toEqual([
      { position: 1, label: "Just some text", text: "Just some text" },
    ]);
  });

  it("reads JSONL strings and objects", () => {
    const items = parseBatchTable("jsonl", '"plain"\n{"id": 7, "text": "object"}\n');
    expect(items).toEqual([
      { position: 1, label: "plain", text: "plain" },
      { position: 2, label: "7", text: "object" },
    ]);
  });

  it("names the row that is wrong", () => {
    expect(() => parseBatchTable("csv", "id,text\na,fine\nb,")).toThrow(/Row 2 has no text/);
    expect(() => parseBatchTable("jsonl", '"ok"\n{"text": 3}')).toThrow(/Row 2 must be a string/);
    expect(() => parseBatchTable("jsonl", '"ok"\n{oops')).toThrow(/Row 2 is not valid JSON/);
    expect(() => parseBatchTable("csv", 'id,text\na,"unclosed')).toThrow(/could not be read/);
    const long = "x".repeat(BATCH_LIMITS.maxItemChars + 1);
    expect(() => parseBatchTable("jsonl", JSON.stringify(long))).toThrow(/Row 1 is longer than/);
  });

  it("refuses more rows than one job takes, and a file with no rows", () => {
    const rows = Array.from({ length: BATCH_LIMITS.maxRows + 1 }, (_, i) => `"row ${i}"`);
    expect(() => parseBatchTable("jsonl", rows.join("\n"))).toThrow(/more than 10,000 rows/);
    expect(() => parseBatchTable("csv", ["text", ...rows].join("\n"))).toThrow(
      /more than 10,000 rows/,
    );
    expect(parseBatchTable("csv", ["text", ...rows.slice(1)].join("\n"))).toHaveLength(10_000);
    expect(() => parseBatchTable("csv", "text\n")).toThrow(/at least one row/);
  });
});
