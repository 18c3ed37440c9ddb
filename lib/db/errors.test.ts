import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { isUniqueViolation } from "@/lib/db/errors";

describe("isUniqueViolation", () => {
  it("recognises a duplicate key from typed and raw queries, and nothing else", async () => {
    const id = randomUUID();
    await db.owner.create({ data: { id } });
    const typed = await db.owner.create({ data: { id } }).catch((error: unknown) => error);
    const raw = await db.$executeRaw`INSERT INTO owners (id) VALUES (${id}::uuid)`.catch(
      (error: unknown) => error,
    );
    const other = await db.$executeRaw`SELECT no_such_column FROM owners`.catch(
      (error: unknown) => error,
    );
    expect(isUniqueViolation(typed)).toBe(true);
    expect(isUniqueViolation(raw)).toBe(true);
    expect(isUniqueViolation(other)).toBe(false);
    expect(isUniqueViolation(new Error("duplicate key"))).toBe(false);
  });
});
