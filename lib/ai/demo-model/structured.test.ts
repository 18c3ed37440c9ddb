import { describe, expect, it } from "vitest";
import { z } from "zod";
import { fillSchema } from "@/lib/ai/demo-model/structured";

function fillWith<T extends z.ZodType>(schema: T, text: string): z.infer<T> {
  return schema.parse(fillSchema(z.toJSONSchema(schema), text));
}

describe("fillSchema", () => {
  it("fills a list of strings from a numbered list", () => {
    const schema = z.object({ subQuestions: z.array(z.string()).min(1).max(5) });
    const value = fillWith(schema, "1. What is A?\n2. How does B work?");
    expect(value.subQuestions).toEqual(["What is A?", "How does B work?"]);
  });

  it("respects minItems and maxItems", () => {
    const text = "One. Two. Three. Four.";
    expect(fillWith(z.array(z.string()).max(2), text)).toEqual(["One.", "Two."]);
    expect(fillWith(z.array(z.string()).min(6), text)).toHaveLength(6);
  });

  it("fills numbers with citations and other fields with valid values", () => {
    const schema = z.object({
      answer: z.string().max(20),
      citations: z.array(z.number().int().min(1)),
      confidence: z.number().min(0.5).max(1),
      kind: z.enum(["fact", "opinion"]),
      done: z.boolean(),
      note: z.string().nullable(),
      nested: z.object({ items: z.array(z.object({ title: z.string() })) }),
    });
    const value = fillWith(schema, "Vacuum reclaims space [2]. Autovacuum runs it [3].");
    expect(value.citations).toEqual([2, 3]);
    expect(value.kind).toBe("fact");
    expect(value.answer.length).toBeLessThanOrEqual(20);
    expect(value.nested.items.map((item) => item.title)).toEqual([
      "Vacuum reclaims space [2].",
      "Autovacuum runs it [3].",
    ]);
  });
});
