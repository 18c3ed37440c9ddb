import { describe, expect, it } from "vitest";
import { chaosChart, ratioOf } from "./chart";

describe("chaos chart", () => {
  it("reads the first ratio of a p95 row", () => {
    expect(ratioOf("faults 3.0 s, baseline 1.6 s: 1.85×")).toBe(1.85);
    expect(
      ratioOf(
        "1.48× at worst: research 5.2 s vs 3.6 s (1.48×), summarize 12.8 s vs 11.5 s (1.12×)",
      ),
    ).toBe(1.48);
    expect(ratioOf("p50 1.2 s, p95 2.5 s: 1.54×")).toBe(1.54);
    expect(ratioOf("none")).toBeNull();
  });

  it("draws each run's rows as a group of bars, with the target", () => {
    const svg = chaosChart(
      [
        {
          label: "a fault every 30 s",
          results: [
            {
              id: "p95",
              detail:
                "1.85× at worst: research 3.0 s vs 1.6 s (1.85×), summarize 9.0 s vs 8.0 s (1.13×)",
            },
            { id: "p95-met", detail: "6.2 s: 3.79×" },
            { id: "p95-clear", detail: "2.8 s: 1.75×" },
          ],
        },
      ],
      1.5,
    );
    expect(svg).toContain("a fault every 30 s");
    expect(svg).toContain("the slower kind of job (the enforced row): 1.85");
    expect(svg).toContain("jobs that met an outage (a kill or a restart): 3.79");
    // Rows the chart does not draw are left out, and no bar is made up for a row that is missing.
    expect(svg).not.toContain("1.75");
    expect(svg.match(/<rect x="\d+(\.\d+)?" y="[\d.]+" width="22"/g)).toHaveLength(2);
    expect(svg).toContain("target: 1.5");
  });
});
