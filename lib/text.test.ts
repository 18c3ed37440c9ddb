import { describe, expect, it } from "vitest";
import { z } from "zod";
import { LONE_SURROGATE_MESSAGE, NUL_TEXT_MESSAGE, safeText } from "@/lib/text";

describe("safeText", () => {
  it("accepts any well-formed text, astral characters included", () => {
    for (const text of ["", "plain", "émoji 😀 and 𝄞", "tabs\tand\nnewlines", "\uFFFD"])
      expect(safeText().safeParse(text).success).toBe(true);
  });

  it("refuses a NUL and either half of a surrogate pair alone, wherever it is", () => {
    const cases: Array<[string, string]> = [
      ["\u0000", NUL_TEXT_MESSAGE],
      ["a\u0000b", NUL_TEXT_MESSAGE],
      ["\uD83D", LONE_SURROGATE_MESSAGE],
      ["x\uD83Dy", LONE_SURROGATE_MESSAGE],
      ["\uDE00", LONE_SURROGATE_MESSAGE],
      ["😀".slice(1), LONE_SURROGATE_MESSAGE],
      ["ab\uD800", LONE_SURROGATE_MESSAGE],
    ];
    for (const [text, reason] of cases) {
      const result = safeText().safeParse(text);
      expect(result.success, JSON.stringify(text)).toBe(false);
      expect(result.error?.issues).toHaveLength(1);
      expect(result.error?.issues[0]?.message).toBe(reason);
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
