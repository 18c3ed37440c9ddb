import { describe, expect, it } from "vitest";
import { admitWithinBudget } from "@/lib/jobs/limits";

describe("admitWithinBudget", () => {
  const cost = (n: number) => n;

  it("admits the leading items whose worst cases fit, in order", () => {
    expect(admitWithinBudget([3, 4, 2, 1], cost, 9)).toEqual([3, 4, 2]);
    // In order, not best fit: a large item stops the run even if later ones would fit.
    expect(admitWithinBudget([3, 7, 1], cost, 9)).toEqual([3]);
    expect(admitWithinBudget([5], cost, 5)).toEqual([5]);
    expect(admitWithinBudget([6], cost, 5)).toEqual([]);
    expect(admitWithinBudget([], cost, 5)).toEqual([]);
  });

  it("admits everything without a budget, and free calls always", () => {
    expect(admitWithinBudget([3, 4, 100], cost, null)).toEqual([3, 4, 100]);
    expect(admitWithinBudget([0, 0, 0], cost, 0)).toEqual([0, 0, 0]);
  });
});
