import { describe, expect, it } from "vitest";
import { parseDurationMs, parseRetryAfter, resolveWakeTime } from "./durations";
import { evaluateKey, expressionMatches } from "./expressions";

describe("expressions", () => {
  const event = { name: "a/b", data: { x: 7, ownerId: "u1", nested: { ok: true } } };

  it("matches the async.data.x == event.data.x form used by waitForEvent and cancelOn", () => {
    expect(
      expressionMatches("async.data.x == event.data.x", { event, async: { data: { x: 7 } } }),
    ).toBe(true);
    expect(
      expressionMatches("async.data.x == event.data.x", { event, async: { data: { x: 8 } } }),
    ).toBe(false);
  });

  it("treats a missing field or a broken expression as no match", () => {
    expect(expressionMatches("async.data.y == event.data.y", { event, async: { data: {} } })).toBe(
      false,
    );
    expect(expressionMatches("event.data.(", { event })).toBe(false);
  });

  it("supports the SDK's onFailure trigger and boolean combinations", () => {
    expect(
      expressionMatches("event.data.function_id == 'app-fn'", {
        event: { data: { function_id: "app-fn" } },
      }),
    ).toBe(true);
    expect(expressionMatches("event.data.x > 5 && event.data.nested.ok", { event })).toBe(true);
  });

  it("evaluates key expressions to stable strings", () => {
    expect(evaluateKey("event.data.ownerId", { event })).toBe("u1");
    expect(evaluateKey("event.data.x", { event })).toBe("7");
    expect(evaluateKey("event.data.missing", { event })).toBe("");
  });
});

describe("durations", () => {
  it("parses Inngest time strings", () => {
    expect(parseDurationMs("1s")).toBe(1000);
    expect(parseDurationMs("1w2d3h4m5s")).toBe(
      ((7 + 2) * 24 * 3600 + 3 * 3600 + 4 * 60 + 5) * 1000,
    );
    expect(parseDurationMs("soon")).toBeUndefined();
  });

  it("resolves sleep targets from durations or ISO dates", () => {
    expect(resolveWakeTime("2m", 1000).getTime()).toBe(121_000);
    expect(resolveWakeTime("2030-01-01T00:00:00.000Z").toISOString()).toBe(
      "2030-01-01T00:00:00.000Z",
    );
  });

  it("parses retry-after as seconds or a date", () => {
    expect(parseRetryAfter("3")).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toISOString(), 4000)).toBe(6000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
