import { TRPCError } from "@trpc/server";
import { describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { anonymousCaller, callerAsNewOwner } from "@/test/trpc";

describe("owner router", () => {
  it("creates the owner row on first use and returns only public fields", async () => {
    const { ownerId, caller } = await callerAsNewOwner();
    expect(await db.owner.findUnique({ where: { id: ownerId } })).toBeNull();
    const me = await caller.owner.me();
    expect(Object.keys(me).sort()).toEqual(["createdAt", "id"]);
    expect(me.id).toBe(ownerId);
    expect(await db.owner.count({ where: { id: ownerId } })).toBe(1);
    await caller.owner.me();
    expect(await db.owner.count({ where: { id: ownerId } })).toBe(1);
  });

  it("offers back the address this owner, and no other, gave last", async () => {
    const { ownerId, caller } = await callerAsNewOwner();
    expect(await caller.owner.rememberedEmail()).toEqual({ email: null });
    await db.owner.update({ where: { id: ownerId }, data: { email: "me@example.test" } });
    expect(await caller.owner.rememberedEmail()).toEqual({ email: "me@example.test" });
    const other = await callerAsNewOwner();
    expect(await other.caller.owner.rememberedEmail()).toEqual({ email: null });
  });

  it("refuses a request without an owner identity", async () => {
    const caller = await anonymousCaller();
    await expect(caller.owner.me()).rejects.toSatisfy(
      (error: unknown) => error instanceof TRPCError && error.code === "UNAUTHORIZED",
    );
  });
});
