import { describe, expect, it } from "vitest";
import {
  chatRequestSchema,
  historyForSpeculation,
  MAX_HISTORY_CHARS,
  MAX_HISTORY_MESSAGES,
} from "@/lib/chat/schema";

const text = (t: string) => ({ type: "text", text: t });

describe("historyForSpeculation", () => {
  it("keeps each message's id, role and text parts, dropping other parts", () => {
    expect(
      historyForSpeculation([
        { id: "u1", role: "user", parts: [text("Hi")] },
        { id: "a1", role: "assistant", parts: [{ type: "step-start" }, text("Hello"), text("!")] },
      ]),
    ).toEqual([
      { id: "u1", role: "user", parts: [text("Hi")] },
      { id: "a1", role: "assistant", parts: [text("Hello"), text("!")] },
    ]);
  });

  it("sends nothing for a system message or a history over the limits", () => {
    expect(
      historyForSpeculation([{ id: "s", role: "system", parts: [text("x")] }]),
    ).toBeUndefined();
    expect(
      historyForSpeculation([
        { id: "u", role: "user", parts: [text("x".repeat(MAX_HISTORY_CHARS + 1))] },
      ]),
    ).toBeUndefined();
    const many = Array.from({ length: MAX_HISTORY_MESSAGES + 1 }, (_, i) => ({
      id: `m${i}`,
      role: "user",
      parts: [text("x")],
    }));
    expect(historyForSpeculation(many)).toBeUndefined();
  });

  it("produces what the chat request schema accepts, and the schema refuses more", () => {
    const history = historyForSpeculation([{ id: "u1", role: "user", parts: [text("Hi")] }]);
    const request = {
      action: "submit",
      conversationId: "6f0c1d7e-8a5b-4c1e-9a3f-2b7d4e5f6a7b",
      message: { id: "u2", role: "user", parts: [text("Next")] },
      history,
    };
    expect(chatRequestSchema.safeParse(request).success).toBe(true);
    const tooLong = {
      ...request,
      history: [{ id: "u1", role: "user", parts: [text("x".repeat(MAX_HISTORY_CHARS + 1))] }],
    };
    expect(chatRequestSchema.safeParse(tooLong).success).toBe(false);
  });
});
