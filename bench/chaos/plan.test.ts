/**
 * The chaos run's plan is a function of its seed: the same flags replay the
 * same workload and fault schedule, every enabled fault kind is injected
 * when there are enough faults, and the baseline asks every chat prompt.
 */
import { describe, expect, it } from "vitest";
import { FAULT_KINDS, parseChaosArgs } from "./args";
import { planFaults } from "./faults";
import { seededRandom } from "./random";
import { CHAT_PROMPTS, planWorkload } from "./workload";

describe("chaos plan", () => {
  it("replays the same faults and workload for the same seed, and others for another", () => {
    const plan = (seed: number) => ({
      faults: planFaults(seededRandom(seed).fork("faults"), {
        count: 12,
        kinds: FAULT_KINDS,
        intervalMs: 1000,
      }),
      workload: planWorkload(seededRandom(seed).fork("workload"), {
        phase: "chaos",
        jobs: 10,
        chats: 10,
        windowMs: 10_000,
        modelFaults: 0.3,
      }),
    });
    expect(plan(7)).toEqual(plan(7));
    expect(plan(8)).not.toEqual(plan(7));
  });

  it("injects every enabled kind once there are enough faults, in order of time", () => {
    const faults = planFaults(seededRandom(1), { count: 9, kinds: FAULT_KINDS, intervalMs: 500 });
    expect(new Set(faults.map((fault) => fault.kind))).toEqual(new Set(FAULT_KINDS));
    const times = faults.map((fault) => fault.atMs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const only = planFaults(seededRandom(1), { count: 3, kinds: ["pg-restart"], intervalMs: 500 });
    expect(only.map((fault) => fault.kind)).toEqual(["pg-restart", "pg-restart", "pg-restart"]);
  });

  it("asks every chat prompt in the baseline, and puts model faults only in the chaos phase", () => {
    const baseline = planWorkload(seededRandom(3), {
      phase: "baseline",
      jobs: 20,
      chats: CHAT_PROMPTS,
      windowMs: 1000,
      modelFaults: 1,
    });
    expect(new Set(baseline.chats.map((chat) => chat.prompt)).size).toBe(CHAT_PROMPTS);
    expect([...baseline.jobs, ...baseline.chats].every((spec) => spec.modelFault === null)).toBe(
      true,
    );
    const chaos = planWorkload(seededRandom(3), {
      phase: "chaos",
      jobs: 20,
      chats: 20,
      windowMs: 1000,
      modelFaults: 1,
    });
    expect(chaos.jobs.every((job) => job.modelFault !== null)).toBe(true);
    for (const job of chaos.jobs) {
      const text = job.input.kind === "research" ? job.input.question : job.input.source.text;
      expect(text).toContain(job.modelFault);
    }
  });

  it("parses its flags, and refuses unknown ones and unknown fault kinds", () => {
    expect(
      parseChaosArgs(["--jobs", "5", "--kinds=app-kill,pg-restart", "--tolerate", "a,b"]),
    ).toMatchObject({
      jobs: 5,
      kinds: ["app-kill", "pg-restart"],
      tolerate: ["a", "b"],
      seed: 1,
    });
    // The full run is `--jobs 1000` alone: a fault every 30 s for every 20 jobs, a chat for
    // every 4, and a baseline of 300 jobs at the same rate.
    expect(parseChaosArgs(["--jobs", "1000"])).toMatchObject({
      faults: 50,
      chats: 250,
      baselineJobs: 300,
      intervalMs: 30_000,
    });
    expect(parseChaosArgs([])).toMatchObject({ jobs: 8, faults: 10, chats: 8, baselineJobs: 8 });
    expect(parseChaosArgs(["--jobs", "1000", "--faults", "20", "--chats", "0"])).toMatchObject({
      faults: 20,
      chats: 0,
    });
    expect(() => parseChaosArgs(["--kinds", "app-kill,meteor"])).toThrow(/meteor/);
    expect(() => parseChaosArgs(["--wat", "1"])).toThrow();
    expect(() => parseChaosArgs(["--jobs", "0"])).toThrow();
  });
});
