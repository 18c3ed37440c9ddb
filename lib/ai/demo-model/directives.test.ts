import { describe, expect, it } from "vitest";
import {
  DirectiveError,
  FaultLedger,
  parseDirectiveList,
  parseMarkers,
  requestKey,
  stripMarkers,
} from "@/lib/ai/demo-model/directives";

describe("demo directives", () => {
  it("parses every fault kind and its parameters", () => {
    const { faults } = parseMarkers(
      "hi [[demo:fail-429 retry-after=3]] [[demo:fail-500-times=2]] [[demo:drop-after=20]] [[demo:stall-ms=5000 after=4]]",
    );
    expect(faults).toEqual([
      {
        kind: "fail-429",
        value: 0,
        after: 0,
        retryAfterSeconds: 3,
        times: undefined,
        every: undefined,
      },
      { kind: "fail-500", value: 0, after: 0, retryAfterSeconds: 1, times: 2, every: undefined },
      {
        kind: "drop-after",
        value: 20,
        after: 0,
        retryAfterSeconds: 1,
        times: undefined,
        every: undefined,
      },
      {
        kind: "stall-ms",
        value: 5000,
        after: 4,
        retryAfterSeconds: 1,
        times: undefined,
        every: undefined,
      },
    ]);
  });

  it("parses pace and `;`-separated lists", () => {
    const directives = parseDirectiveList("tps=5; ttft-ms=0; drop-after=3,times=1");
    expect(directives.pace).toEqual({ tokensPerSecond: 5, ttftMs: 0 });
    expect(directives.faults[0]).toMatchObject({ kind: "drop-after", value: 3, times: 1 });
  });

  it("rejects unknown directives and bad values", () => {
    expect(() => parseMarkers("[[demo:explode]]")).toThrow(DirectiveError);
    expect(() => parseMarkers("[[demo:drop-after=-1]]")).toThrow(/non-negative integer/);
    expect(() => parseMarkers("[[demo:fail-500 colour=red]]")).toThrow(/unknown parameter/);
  });

  it("strips markers from text", () => {
    expect(stripMarkers("Tell me [[demo:drop-after=2]] about it [[demo:tps=5]]")).toBe(
      "Tell me about it",
    );
  });

  it("fires `times` faults on the first K attempts of an identical request only", () => {
    const ledger = new FaultLedger();
    const { faults } = parseMarkers("[[demo:fail-500-times=2]]");
    const key = requestKey("m", [{ role: "user", content: "x" }]);
    const other = requestKey("m", [{ role: "user", content: "y" }]);
    expect(ledger.select(faults, key)).toHaveLength(1);
    expect(ledger.select(faults, other)).toHaveLength(1);
    expect(ledger.select(faults, key)).toHaveLength(1);
    expect(ledger.select(faults, key)).toHaveLength(0);
    expect(ledger.select(faults, other)).toHaveLength(1);
    expect(ledger.select(faults, other)).toHaveLength(0);
  });

  it("fires `every` faults on every K-th request", () => {
    const ledger = new FaultLedger();
    const { faults } = parseDirectiveList("fail-500 every=3");
    const fired = Array.from({ length: 9 }, (_, i) => ledger.select(faults, `r${i}`).length);
    expect(fired).toEqual([0, 0, 1, 0, 0, 1, 0, 0, 1]);
  });

  it("keeps its memory bounded", () => {
    const ledger = new FaultLedger(2);
    const { faults } = parseMarkers("[[demo:fail-500 times=1]]");
    expect(ledger.select(faults, "a")).toHaveLength(1);
    ledger.select(faults, "b");
    ledger.select(faults, "c");
    // "a" was evicted, so it counts as a first attempt again.
    expect(ledger.select(faults, "a")).toHaveLength(1);
  });
});
