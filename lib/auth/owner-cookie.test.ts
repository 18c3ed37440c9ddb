import { randomUUID } from "node:crypto";
import { sealData } from "iron-session";
import { describe, expect, it } from "vitest";
import {
  OWNER_COOKIE,
  newOwnerCookie,
  ownerIdFromHeaders,
  sealOwnerId,
  unsealOwnerId,
} from "@/lib/auth/owner-cookie";

describe("owner cookie", () => {
  it("round-trips a fresh owner id", async () => {
    const { ownerId, value } = await newOwnerCookie();
    expect(ownerId).toMatch(/^[0-9a-f-]{36}$/);
    expect(value).not.toContain(ownerId);
    expect(await unsealOwnerId(value)).toBe(ownerId);
  });

  it("refuses a cookie sealed with another secret", async () => {
    const forged = await sealData(
      { v: 1, ownerId: randomUUID() },
      { password: "another-secret-".repeat(3), ttl: 0 },
    );
    expect(await unsealOwnerId(forged)).toBeNull();
  });

  it("refuses a tampered, truncated, empty or wrongly shaped cookie", async () => {
    const value = await sealOwnerId(randomUUID());
    const tampered = value.slice(0, 40) + (value[40] === "a" ? "b" : "a") + value.slice(41);
    expect(await unsealOwnerId(tampered)).toBeNull();
    expect(await unsealOwnerId(value.slice(0, value.length - 5))).toBeNull();
    expect(await unsealOwnerId("")).toBeNull();
    expect(await unsealOwnerId(undefined)).toBeNull();
    const wrongShape = await sealData(
      { ownerId: "not-a-uuid" },
      { password: process.env.SESSION_SECRET!, ttl: 0 },
    );
    expect(await unsealOwnerId(wrongShape)).toBeNull();
  });

  it("reads the owner from a Cookie header among other cookies", async () => {
    const { ownerId, value } = await newOwnerCookie();
    const headers = new Headers({
      cookie: `theme=dark; ${OWNER_COOKIE}=${encodeURIComponent(value)}; other=1`,
    });
    expect(await ownerIdFromHeaders(headers)).toBe(ownerId);
    expect(await ownerIdFromHeaders(new Headers())).toBeNull();
  });
});
