/**
 * The chaos run's durations: the p95 of completed jobs under faults against
 * the fault-free baseline's (the enforced row), and what that p95 is made of
 * (reported): how many jobs met an outage, and the p95 of those that did, of
 * those that did not, and of every job less the outage time it overlapped.
 */
import type pg from "pg";
import type { CheckOptions, InvariantRow } from "./invariants";

type Queryable = Pick<pg.Pool, "query">;

async function rowsOf<T extends pg.QueryResultRow>(db: Queryable, sql: string, params: unknown[]) {
  return (await db.query<T>(sql, params)).rows;
}

/**
 * The completed chaos jobs, each with its duration, the outage time it
 * overlapped and the kind of outage it met (several kinds: "outages of
 * several kinds"). Parameters: `chaosJobsParams`.
 */
const CHAOS_JOBS = `WITH outage AS (SELECT * FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[]) AS o(kind, from_at, to_at)),
     chaos AS (
       SELECT j.id, extract(epoch FROM j.finished_at - j.created_at) * 1000 AS ms,
              -- Outages do not overlap one another (faults are injected one at a time).
              coalesce((SELECT sum(extract(epoch FROM least(o.to_at, j.finished_at) - greatest(o.from_at, j.created_at)))
                          FROM outage o WHERE o.from_at < j.finished_at AND o.to_at > j.created_at), 0) * 1000 AS down_ms,
              (SELECT CASE WHEN count(DISTINCT o.kind) > 1 THEN 'outages of several kinds' ELSE min(o.kind) END
                 FROM outage o WHERE o.from_at < j.finished_at AND o.to_at > j.created_at) AS outage
         FROM jobs j WHERE j.id = ANY($1::text[]) AND j.status = 'completed' AND j.finished_at IS NOT NULL)`;

function chaosJobsParams(options: CheckOptions): unknown[] {
  const outages = options.outages ?? [];
  return [
    options.chaosJobIds,
    outages.map((outage) => outage.kind),
    outages.map((outage) => outage.from),
    outages.map((outage) => outage.to),
  ];
}

/**
 * The duration rows: the enforced p95 against the baseline's, then (reported)
 * what it is made of, by outage and by cause. The baseline's p95 is read once.
 */
export async function durationRows(db: Queryable, options: CheckOptions): Promise<InvariantRow[]> {
  const baseline = await p95(db, options.baselineJobIds);
  const rows = [await p95Row(db, options, baseline)];
  if (baseline.p95 === null) return rows;
  if (options.outages?.length) rows.push(...(await outageRows(db, options, baseline.p95)));
  rows.push(...(await causeRows(db, options, baseline.p95)));
  return rows;
}

/**
 * What the p95 is made of: a job that overlaps an outage waits for it (the app
 * or the executor killed and started again, PostgreSQL restarted) and runs its
 * interrupted step again, so the chaos p95 cannot be lower than the outages
 * themselves once enough jobs meet one. Reported, not enforced.
 */
async function outageRows(
  db: Queryable,
  options: CheckOptions,
  baseline: number,
): Promise<InvariantRow[]> {
  const outages = options.outages ?? [];
  const [stats] = await rowsOf<{
    n: number;
    met: number;
    p95_clear: number | null;
    p95_met: number | null;
    p95_net: number | null;
  }>(
    db,
    `${CHAOS_JOBS}
     SELECT count(*)::int AS n, count(*) FILTER (WHERE down_ms > 0)::int AS met,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) FILTER (WHERE down_ms = 0) AS p95_clear,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) FILTER (WHERE down_ms > 0) AS p95_met,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY ms - down_ms) AS p95_net
       FROM chaos`,
    chaosJobsParams(options),
  );
  if (!stats?.n) return [];
  const downMs = outages.reduce((sum, o) => sum + (o.to.getTime() - o.from.getTime()), 0);
  const ratio = (ms: number | null) =>
    ms === null ? "none" : `${(ms / 1000).toFixed(1)} s: ${(ms / baseline).toFixed(2)}×`;
  const info = (id: string, name: string, checked: string, detail: string): InvariantRow => ({
    id,
    name,
    checked,
    violations: 0,
    result: "info",
    detail,
    samples: [],
  });
  return [
    info(
      "outage-share",
      "jobs that met an outage (a kill or restart)",
      `${outages.length} outages, ${(downMs / 1000).toFixed(0)} s down`,
      `${stats.met} of ${stats.n} (${Math.round((100 * stats.met) / stats.n)} %)`,
    ),
    info(
      "p95-clear",
      "p95 of jobs that met no outage",
      `${stats.n - stats.met} jobs`,
      ratio(stats.p95_clear),
    ),
    info("p95-met", "p95 of jobs that met one", `${stats.met} jobs`, ratio(stats.p95_met)),
    info(
      "p95-net",
      "p95 less the outage time each job overlapped",
      `${stats.n} jobs`,
      ratio(stats.p95_net),
    ),
  ];
}

/**
 * What each cause costs a job: the chaos jobs grouped by what they met (the
 * kind of outage they overlapped, else a model fault in their text, else
 * neither), each group's median and p95 against the baseline's p95.
 * Reported, not enforced.
 */
async function causeRows(
  db: Queryable,
  options: CheckOptions,
  baseline: number,
): Promise<InvariantRow[]> {
  const groups = await rowsOf<{ cause: string; n: number; p50: number; p95: number }>(
    db,
    `${CHAOS_JOBS}
     SELECT coalesce(outage, CASE WHEN id = ANY($5::text[]) THEN 'a model fault, no outage' ELSE 'no outage, no model fault' END) AS cause,
            count(*)::int AS n,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) AS p95
       FROM chaos GROUP BY 1 ORDER BY 2 DESC`,
    [...chaosJobsParams(options), options.modelFaultJobIds ?? []],
  );
  return groups.map((group) => ({
    id: `p95-cause-${group.cause.replace(/[^a-z0-9]+/g, "-")}`,
    name: `jobs that met ${group.cause}`,
    checked: `${group.n} jobs`,
    violations: 0,
    result: "info",
    detail: `p50 ${(group.p50 / 1000).toFixed(1)} s, p95 ${(group.p95 / 1000).toFixed(1)} s: ${(group.p95 / baseline).toFixed(2)}×`,
    samples: [],
  }));
}

async function p95(db: Queryable, ids: readonly string[]) {
  const [result] = await rowsOf<{ n: number; p95: number | null }>(
    db,
    `SELECT count(*)::int AS n,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - created_at) * 1000) AS p95
       FROM jobs WHERE id = ANY($1::text[]) AND status = 'completed' AND finished_at IS NOT NULL`,
    [ids],
  );
  return { n: result?.n ?? 0, p95: result?.p95 ?? null };
}

async function p95Row(
  db: Queryable,
  options: CheckOptions,
  baseline: Awaited<ReturnType<typeof p95>>,
): Promise<InvariantRow> {
  const chaos = await p95(db, options.chaosJobIds);
  const name = `p95 job duration ≤ ${options.p95Target}× baseline`;
  if (baseline.p95 === null || chaos.p95 === null) {
    return {
      id: "p95",
      name,
      checked: "no completed jobs to compare",
      violations: 0,
      result: "info",
      detail: "",
      samples: [],
    };
  }
  const ratio = chaos.p95 / baseline.p95;
  const enforced = Math.min(baseline.n, chaos.n) >= options.p95MinJobs;
  const over = ratio > options.p95Target;
  return {
    id: "p95",
    name,
    checked: `${chaos.n} vs ${baseline.n} completed jobs`,
    violations: enforced && over ? 1 : 0,
    result: enforced ? (over ? "FAIL" : "pass") : "info",
    detail: `faults ${(chaos.p95 / 1000).toFixed(1)} s, baseline ${(baseline.p95 / 1000).toFixed(1)} s: ${ratio.toFixed(2)}×${enforced ? "" : ` (not enforced below ${options.p95MinJobs} jobs)`}`,
    samples: [],
  };
}
