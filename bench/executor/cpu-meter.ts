/**
 * CPU time of the benchmark's processes between start() and stop(): the app,
 * this process (which hosts the executor) and the database's backends.
 */
import { processCpuMs } from "../lib/process";
import type { CpuPerStep } from "./results";

/** Counts CPU time of the app, this process and the database's backends between start() and stop(). */
export class CpuMeter {
  private app = 0;
  private self = 0;
  private postgres = 0;
  private postgresKnown = true;
  private appKnown = true;
  private started: { app: number | null; self: NodeJS.CpuUsage; pg: Map<number, number> } | null =
    null;

  constructor(
    private readonly appPid: number | undefined,
    private readonly backends: () => Promise<number[]>,
  ) {}

  async start(): Promise<void> {
    const pids = await this.backends();
    this.started = {
      app: processCpuMs(this.appPid),
      self: process.cpuUsage(),
      pg: new Map(
        pids.flatMap((pid) =>
          ((ms) => (ms === null ? [] : [[pid, ms] as const]))(processCpuMs(pid)),
        ),
      ),
    };
  }

  async stop(): Promise<void> {
    const started = this.started;
    if (!started) return;
    this.started = null;
    const self = process.cpuUsage(started.self);
    this.self += (self.user + self.system) / 1000;
    const app = processCpuMs(this.appPid);
    if (app === null || started.app === null) this.appKnown = false;
    else this.app += app - started.app;
    if (started.pg.size === 0) this.postgresKnown = false;
    // Backends that came or went in between are not counted (the pools keep theirs open while busy).
    for (const [pid, before] of started.pg) {
      const after = processCpuMs(pid);
      if (after !== null) this.postgres += after - before;
    }
  }

  perStep(steps: number): CpuPerStep {
    const round = (value: number) => Math.round((value / steps) * 100) / 100;
    return {
      app: this.appKnown ? round(this.app) : null,
      executor: round(this.self),
      postgres: this.postgresKnown ? round(this.postgres) : null,
    };
  }
}
