import { describe, expect, it } from "vitest";
import { jobInputFor, parseJobCommand } from "./job-command";

describe("chat job commands", () => {
  it("leaves ordinary messages alone", () => {
    expect(parseJobCommand("What is MVCC?")).toBeNull();
    expect(parseJobCommand("please /research this")).toBeNull();
    expect(parseJobCommand("/researcher x")).toBeNull();
  });

  it("turns /research into a research job", () => {
    expect(parseJobCommand("/research  How does autovacuum work?\n")).toEqual({
      ok: true,
      input: {
        kind: "research",
        question: "How does autovacuum work?",
        approvePlan: false,
        economy: false,
      },
    });
  });

  it("turns /summarize into a URL or a pasted-text summary", () => {
    expect(parseJobCommand("/summarize https://example.org/a?b=1")).toEqual({
      ok: true,
      input: { kind: "summarize", source: { type: "url", url: "https://example.org/a?b=1" } },
    });
    expect(parseJobCommand("/Summarise Some long text\nwith lines")).toEqual({
      ok: true,
      input: { kind: "summarize", source: { type: "text", text: "Some long text\nwith lines" } },
    });
    expect(parseJobCommand("/summarize ftp://example.org/file")).toMatchObject({
      input: { source: { type: "text" } },
    });
  });

  it("explains what is missing", () => {
    expect(parseJobCommand("/research")).toEqual({
      ok: false,
      message: "Write your question after /research.",
    });
    expect(parseJobCommand("/summarize   ")).toEqual({
      ok: false,
      message: "Give a URL or paste text after /summarize.",
    });
    expect(jobInputFor("research", "hi")).toMatchObject({
      ok: false,
      message: expect.stringMatching(/at least 3/),
    });
  });
});
