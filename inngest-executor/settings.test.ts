import { describe, expect, it } from "vitest";
import { nextCronTick, parseCron, unsupportedSettings } from "./engine/settings";
import { functionConfigSchema } from "./protocol";

const fn = (extra: Record<string, unknown>) =>
  functionConfigSchema.parse({
    id: "f",
    triggers: [{ event: "e" }],
    steps: { step: { runtime: { type: "http", url: "http://127.0.0.1:1/api/inngest" } } },
    ...extra,
  });

describe("cron schedules", () => {
  it("reads a TZ= or CRON_TZ= prefix as the schedule's time zone", () => {
    expect(parseCron("TZ=Europe/Paris 0 12 * * *")).toEqual({
      pattern: "0 12 * * *",
      timezone: "Europe/Paris",
    });
    expect(parseCron("*/5 * * * *")).toEqual({ pattern: "*/5 * * * *" });
    const after = new Date("2026-01-01T00:30:00Z");
    expect(nextCronTick("TZ=Asia/Tokyo 0 9 * * *", after)?.toISOString()).toBe(
      "2026-01-02T00:00:00.000Z",
    );
    expect(nextCronTick("CRON_TZ=America/New_York 0 12 * * *", after)?.toISOString()).toBe(
      "2026-01-01T17:00:00.000Z",
    );
    expect(nextCronTick("0 12 * * *", after)?.toISOString()).toBe("2026-01-01T12:00:00.000Z");
  });
});

describe("settings refused at sync", () => {
  it("accepts every supported setting", () => {
    expect(
      unsupportedSettings(
        fn({
          idempotency: "event.data.id",
          concurrency: [{ limit: 2, key: "event.data.k" }],
          rateLimit: { limit: 1, period: "1m", key: "event.data.k" },
          throttle: { limit: 1, period: "1s", burst: 2 },
          priority: { run: "event.data.p" },
          singleton: { mode: "skip" },
          timeouts: { start: "1m", finish: "5m" },
          cancel: [{ event: "c", if: "true", timeout: "1h" }],
          triggers: [
            { event: "e", expression: "true" },
            { cron: "TZ=UTC 0 * * * *", jitter: "5s" },
          ],
        }),
      ),
    ).toEqual([]);
  });

  it("names an unknown setting, an unknown field, a Connect runtime, a bad cron and unsupported combinations", () => {
    expect(unsupportedSettings(fn({ futureSetting: { on: true } }))).toEqual([
      'setting "futureSetting" is not supported',
    ]);
    expect(unsupportedSettings(fn({ throttle: { limit: 1, period: "1s", mode: "x" } }))).toEqual([
      '"throttle.mode" is not supported',
    ]);
    expect(
      unsupportedSettings(
        fn({ steps: { step: { runtime: { type: "ws", url: "http://x.invalid" } } } }),
      ),
    ).toEqual(['step "step" runtime "ws" (Connect) is not supported']);
    expect(unsupportedSettings(fn({ triggers: [{ cron: "not a cron" }] }))[0]).toMatch(
      /cron "not a cron" is invalid/,
    );
    expect(
      unsupportedSettings(fn({ debounce: { period: "1s" }, singleton: { mode: "skip" } })),
    ).toEqual(['"debounce" with "singleton" is not supported']);
    expect(
      unsupportedSettings(
        fn({ batchEvents: { maxSize: 2, timeout: "0s" }, debounce: { period: "1s" } }),
      ),
    ).toEqual([
      '"batchEvents.timeout" must be a positive duration, not "0s"',
      '"batchEvents" with "debounce" is not supported',
    ]);
  });
});
