/**
 * The chaos run's durations: the p95 of each kind of completed job under
 * faults against the same kind in the fault-free baseline (the enforced row),
 * and what the p95 of all jobs is made of (reported): how many jobs met an
 * outage, the p95 of those that did, of those that did not and of every job
 * less the outage time it overlapped, and the jobs grouped by what they met.
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
 * The duration rows: the enforced p95 of each kind of job against the
 * baseline's, then (reported) the p95 of all jobs together and what it is made
 * of, by outage and by cause, against the baseline's p95 of all jobs.
 */
export async function durationRows(db: Queryable, options: CheckOptions): Promise<InvariantRow[]> {
  const p95s = await p95sOf(db, options);
  const rows = [p95Row(p95s.kinds, options)];
  const { all } = p95s;
  if (all.chaos_p95 === null || all.baseline_p95 === null) return rows;
  rows.push(mixedRow({ ...all, chaos_p95: all.chaos_p95, baseline_p95: all.baseline_p95 }));
  if (options.outages?.length) rows.push(...(await outageRows(db, options, all.baseline_p95)));
  rows.push(...(await causeRows(db, options, all.baseline_p95)));
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

interface PhaseP95 {
  chaos_n: number;
  chaos_p95: number | null;
  baseline_n: number;
  baseline_p95: number | null;
}

const P95_MS =
  "percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - created_at) * 1000)";

/** The completed jobs' count and p95 duration in each phase: per kind, and all kinds together. */
async function p95sOf(db: Queryable, options: CheckOptions) {
  const rows = await rowsOf<PhaseP95 & { kind: string | null }>(
    db,
    `SELECT kind::text,
            count(*) FILTER (WHERE id = ANY($1::text[]))::int AS chaos_n,
            ${P95_MS} FILTER (WHERE id = ANY($1::text[])) AS chaos_p95,
            count(*) FILTER (WHERE id = ANY($2::text[]))::int AS baseline_n,
            ${P95_MS} FILTER (WHERE id = ANY($2::text[])) AS baseline_p95
       FROM jobs
      WHERE (id = ANY($1::text[]) OR id = ANY($2::text[])) AND status = 'completed' AND finished_at IS NOT NULL
      GROUP BY GROUPING SETS ((kind), ()) ORDER BY kind`,
    [options.chaosJobIds, options.baselineJobIds],
  );
  const none: PhaseP95 = { chaos_n: 0, chaos_p95: null, baseline_n: 0, baseline_p95: null };
  return {
    kinds: rows.flatMap(({ kind, ...row }) => (kind === null ? [] : [{ ...row, kind }])),
    // The grand total is the row without a kind (there is none when no job completed).
    all: rows.find((row) => row.kind === null) ?? none,
  };
}

/**
 * The enforced row: each kind of job against the same kind in the baseline.
 * A mix would hide a kind: a research job that waits out a provider's 1 s
 * Retry-After is much slower than it should be, yet still shorter than the
 * long summaries that set the p95 of all jobs together.
 */
function p95Row(
  kinds: ReadonlyArray<PhaseP95 & { kind: string }>,
  options: CheckOptions,
): InvariantRow {
  const compared = kinds.flatMap((row) =>
    row.chaos_p95 === null || row.baseline_p95 === null
      ? []
      : [
          {
            ...row,
            ratio: row.chaos_p95 / row.baseline_p95,
            enforced: Math.min(row.chaos_n, row.baseline_n) >= options.p95MinJobs,
          },
        ],
  );
  const name = `p95 job duration ≤ ${options.p95Target}× baseline, each kind`;
  if (compared.length === 0) {
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
  const over = compared.filter((row) => row.enforced && row.ratio > options.p95Target);
  const enforced = compared.some((row) => row.enforced);
  const worst = Math.max(...compared.map((row) => row.ratio));
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  return {
    id: "p95",
    name,
    checked: `${compared.map((row) => `${row.kind} ${row.chaos_n} vs ${row.baseline_n}`).join(", ")} completed jobs`,
    violations: over.length,
    result: enforced ? (over.length ? "FAIL" : "pass") : "info",
    // The worst ratio first: the chart reads it.
    detail: `${worst.toFixed(2)}× at worst: ${compared
      .map(
        (row) =>
          `${row.kind} ${seconds(row.chaos_p95!)} vs ${seconds(row.baseline_p95!)} (${row.ratio.toFixed(2)}×${row.enforced ? "" : `, not enforced below ${options.p95MinJobs} jobs`})`,
      )
      .join(", ")}`,
    samples: over.map((row) => ({ kind: row.kind, ratio: Number(row.ratio.toFixed(2)) })),
  };
}

/** The p95 of every job, kinds mixed (reported): what the breakdown rows compare with. */
function mixedRow(all: PhaseP95 & { chaos_p95: number; baseline_p95: number }): InvariantRow {
  return {
    id: "p95-all",
    name: "p95 of every job, kinds mixed",
    checked: `${all.chaos_n} vs ${all.baseline_n} completed jobs`,
    violations: 0,
    result: "info",
    detail: `faults ${(all.chaos_p95 / 1000).toFixed(1)} s, baseline ${(all.baseline_p95 / 1000).toFixed(1)} s: ${(all.chaos_p95 / all.baseline_p95).toFixed(2)}×`,
    samples: [],
  };
}
