import { describe, expect, it } from "vitest";
import { chaosChart, ratioOf } from "./chart";

describe("chaos chart", () => {
  it("reads the ratio a p95 row ends with", () => {
    expect(ratioOf("faults 3.0 s, baseline 1.6 s: 1.85×")).toBe(1.85);
    expect(ratioOf("p50 1.2 s, p95 2.5 s: 1.54×")).toBe(1.54);
    expect(ratioOf("none")).toBeNull();
  });

  it("draws each run's rows as a group of bars, with the target", () => {
    const svg = chaosChart(
      [
        {
          label: "a fault every 30 s",
          results: [
            { id: "p95", detail: "faults 3.0 s, baseline 1.6 s: 1.85×" },
            { id: "p95-met", detail: "6.2 s: 3.79×" },
            { id: "p95-clear", detail: "2.8 s: 1.75×" },
          ],
        },
      ],
      1.5,
    );
    expect(svg).toContain("a fault every 30 s");
    expect(svg).toContain("every job (the enforced row): 1.85");
    expect(svg).toContain("jobs that met an outage (a kill or a restart): 3.79");
    // Rows the chart does not draw are left out, and no bar is made up for a row that is missing.
    expect(svg).not.toContain("1.75");
    expect(svg.match(/<rect x="\d+(\.\d+)?" y="[\d.]+" width="22"/g)).toHaveLength(2);
    expect(svg).toContain("target: 1.5");
  });
});
