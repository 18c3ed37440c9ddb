import { describe, expect, it } from "vitest";
import { createJobInputSchema } from "@/lib/jobs/schemas";
import {
  emptyBatchDraft,
  initialJobFormState,
  readyToSubmit,
  toCreateJobInput,
  type BatchDraft,
  type JobFormState,
} from "./job-form-state";

const DOCUMENT_ID = "0b7e1c52-2f4b-4c55-9d2a-6f0f2b8c1d3e";

function form(overrides: Partial<JobFormState> = {}): JobFormState {
  return { ...initialJobFormState(null), ...overrides };
}
const summarize = (patch: Partial<JobFormState["summarize"]>) =>
  form({ kind: "summarize", summarize: { ...form().summarize, ...patch } });
const batch = (patch: Partial<BatchDraft>) =>
  form({ kind: "batch", batch: { ...emptyBatchDraft, ...patch } });
const table = { name: "rows.csv", format: "csv" as const, content: "text\nOne\nTwo\n" };

describe("toCreateJobInput", () => {
  it("maps a research question with its options, as typed", () => {
    const research = { question: "  What is MVCC? ", approvePlan: true, economy: false };
    const result = toCreateJobInput(
      form({ research: { ...research, budget: "", deadlineMinutes: "" } }),
    );
    expect(result).toEqual({
      ok: true,
      input: {
        kind: "research",
        question: "  What is MVCC? ",
        approvePlan: true,
        economy: false,
        budget: undefined,
        deadlineMinutes: undefined,
        notifyEmail: undefined,
      },
    });
    const limited = toCreateJobInput(
      form({ research: { ...research, budget: " 0.40 ", deadlineMinutes: "30" } }),
    );
    expect(limited).toMatchObject({ ok: true, input: { budget: "0.40", deadlineMinutes: 30 } });
    expect(
      toCreateJobInput(form({ research: { ...research, budget: "lots", deadlineMinutes: "" } })),
    ).toEqual({ ok: false, fieldErrors: { budget: ["A budget in dollars, e.g. 2.50"] } });
  });

  it("maps each summarize source: a trimmed URL, pasted text, an uploaded document", () => {
    expect(toCreateJobInput(summarize({ url: " https://example.org/a " }))).toMatchObject({
      ok: true,
      input: { kind: "summarize", source: { type: "url", url: "https://example.org/a" } },
    });
    expect(toCreateJobInput(summarize({ source: "text", text: "Some text." }))).toMatchObject({
      ok: true,
      input: { source: { type: "text", text: "Some text." } },
    });
    const uploaded = summarize({
      source: "file",
      upload: { state: "done", documentId: DOCUMENT_ID, title: "Paper" },
    });
    expect(toCreateJobInput(uploaded)).toMatchObject({
      ok: true,
      input: { source: { type: "document", documentId: DOCUMENT_ID } },
    });
  });

  it("maps a batch: its table, mode, retry, budget and deadline as numbers the server takes", () => {
    const result = toCreateJobInput(
      batch({ file: table, mode: "now", retry: "live", budget: " 2.50 ", deadlineMinutes: "90" }),
    );
    expect(result).toEqual({
      ok: true,
      input: {
        kind: "batch",
        mode: "now",
        retry: "live",
        source: { type: "table", format: "csv", fileName: "rows.csv", content: table.content },
        budget: "2.50",
        deadlineMinutes: 90,
        notifyEmail: undefined,
      },
    });
    // What the form sends is what the server parses without complaint.
    if (result.ok) expect(createJobInputSchema.safeParse(result.input).success).toBe(true);
  });

  it("splits batch URLs on any whitespace and leaves out the blanks", () => {
    const result = toCreateJobInput(
      batch({ source: "urls", urls: "https://a.example/1\n\n  https://b.example/2 \t" }),
    );
    expect(result).toMatchObject({
      ok: true,
      input: { source: { type: "urls", urls: ["https://a.example/1", "https://b.example/2"] } },
    });
  });

  it("adds the notify address, trimmed, only when asked for", () => {
    const asked = form({ notify: { enabled: true, email: " me@example.org " } });
    expect(
      toCreateJobInput({ ...asked, research: { ...asked.research, question: "Why?!" } }),
    ).toMatchObject({ ok: true, input: { notifyEmail: "me@example.org" } });
    const remembered = initialJobFormState("me@example.org");
    expect(remembered.notify).toEqual({ enabled: false, email: "me@example.org" });
    expect(
      toCreateJobInput({ ...remembered, research: { ...remembered.research, question: "Why?!" } }),
    ).toMatchObject({ ok: true, input: { notifyEmail: undefined } });
  });

  it("gives the server's own field errors for values the schema refuses", () => {
    expect(toCreateJobInput(form({ research: { ...form().research, question: "ab" } }))).toEqual({
      ok: false,
      fieldErrors: { question: ["Ask a question of at least 3 characters"] },
    });
    expect(toCreateJobInput(batch({ file: table, budget: "two dollars" }))).toEqual({
      ok: false,
      fieldErrors: { budget: ["A budget in dollars, e.g. 2.50"] },
    });
    const late = toCreateJobInput(batch({ file: table, deadlineMinutes: "0" }));
    expect(late.ok).toBe(false);
    expect(!late.ok && late.fieldErrors.deadlineMinutes).toHaveLength(1);
    const badEmail = toCreateJobInput(
      form({
        research: { ...form().research, question: "What is MVCC?" },
        notify: { enabled: true, email: "not an address" },
      }),
    );
    expect(!badEmail.ok && Object.keys(badEmail.fieldErrors)).toEqual(["notifyEmail"]);
  });

  it("says which source is missing instead of sending a request that cannot succeed", () => {
    const missing = (state: JobFormState) => {
      const result = toCreateJobInput(state);
      return result.ok ? null : result.fieldErrors.source;
    };
    expect(missing(summarize({ source: "file" }))).toEqual(["Choose a file to upload."]);
    expect(
      missing(summarize({ source: "file", upload: { state: "uploading", name: "a.pdf" } })),
    ).toEqual(["The file is still uploading."]);
    expect(missing(batch({}))).toEqual(["Choose a CSV or JSONL file."]);
    expect(missing(batch({ fileError: "The file is larger than 10 MB." }))).toEqual([
      "The file is larger than 10 MB.",
    ]);
    expect(missing(batch({ source: "urls", urls: " \n " }))).toEqual(["Give at least one URL."]);
    expect(missing(batch({ source: "documents" }))).toEqual(["Upload at least one file."]);
    expect(
      missing(
        batch({ source: "documents", uploads: { state: "uploading", documentIds: [], names: [] } }),
      ),
    ).toEqual(["The files are still uploading."]);
  });

  it("asks for the address when an email is wanted but none is given", () => {
    const state = form({
      research: { ...form().research, question: "What is MVCC?" },
      notify: { enabled: true, email: "   " },
    });
    expect(toCreateJobInput(state)).toEqual({
      ok: false,
      fieldErrors: { notifyEmail: ["Enter the address to email."] },
    });
  });
});

describe("readyToSubmit", () => {
  it("holds the button while a source is missing, and only then", () => {
    expect(readyToSubmit(form())).toBe(true);
    expect(readyToSubmit(summarize({}))).toBe(true);
    expect(readyToSubmit(summarize({ source: "file" }))).toBe(false);
    expect(
      readyToSubmit(
        summarize({
          source: "file",
          upload: { state: "done", documentId: DOCUMENT_ID, title: "" },
        }),
      ),
    ).toBe(true);
    expect(readyToSubmit(batch({}))).toBe(false);
    expect(readyToSubmit(batch({ file: table }))).toBe(true);
  });
});
