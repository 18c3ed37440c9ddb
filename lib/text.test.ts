import { describe, expect, it } from "vitest";
import { z } from "zod";
import { safeText, UNSAFE_TEXT_MESSAGE } from "@/lib/text";

describe("safeText", () => {
  it("accepts any well-formed text, astral characters included", () => {
    for (const text of ["", "plain", "émoji 😀 and 𝄞", "tabs\tand\nnewlines", "\uFFFD"])
      expect(safeText().safeParse(text).success).toBe(true);
  });

  it("refuses a NUL and either half of a surrogate pair alone, wherever it is", () => {
    for (const text of [
      "\u0000",
      "a\u0000b",
      "\uD83D",
      "x\uD83Dy",
      "\uDE00",
      "😀".slice(1),
      "ab\uD800",
    ]) {
      const result = safeText().safeParse(text);
      expect(result.success, JSON.stringify(text)).toBe(false);
      expect(result.error?.issues[0]?.message).toBe(UNSAFE_TEXT_MESSAGE);
    }
  });

  it("names the field in the issue's path", () => {
    const result = safeText().trim().min(1).safeParse("\u0000");
    expect(result.success).toBe(false);
    const nested = z.object({ source: z.object({ text: safeText() }) }).safeParse({
      source: { text: "bad\u0000" },
    });
    expect(nested.error?.issues[0]?.path).toEqual(["source", "text"]);
  });
});
