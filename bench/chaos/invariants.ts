/**
 * What a chaos run must leave behind, checked in SQL against the database
 * itself (not against what the HTTP clients saw):
 *
 * - every job in a final state, and one job per submission (a retried
 *   jobs.create finds the first request's job);
 * - per job, event sequence numbers 1..n without gap or duplicate, matching
 *   `jobs.last_seq`, and no step or outcome recorded twice;
 * - every part's output present exactly once (a completed job's steps all
 *   completed once; a summary has one partial per part, part-1..part-N);
 * - exactly one email (one Message-ID) per (job, outcome), and no email for
 *   anything else; a message delivered again under its Message-ID (the process
 *   killed between the SMTP server's acceptance and the record of it) is
 *   counted and reported, not enforced;
 * - every chat answer final, and none holding duplicated text: answers to
 *   the same prompt from the deterministic demo model are identical when
 *   complete and a prefix of the complete one otherwise (a continued answer
 *   included);
 * - the p95 duration of each kind of completed job under faults within
 *   `p95Target` × the same kind's in the fault-free baseline (enforced from
 *   `p95MinJobs` jobs of that kind per phase).
 */
import type pg from "pg";
import { durationRows } from "./durations";

/** lib/chat/turns.ts STALE_STREAM_MS: a `streaming` answer not checkpointed for this long is shown as interrupted. */
export const STALE_STREAM_SECONDS = 30;

export interface InvariantRow {
  /** Short name for `--tolerate`. */
  id: string;
  name: string;
  /** What was looked at, e.g. "24 jobs". */
  checked: string;
  violations: number;
  /** "info" is reported, not enforced; "tolerated" is a FAIL the caller chose not to count. */
  result: "pass" | "FAIL" | "info" | "tolerated";
  detail: string;
  /** Up to a few offending rows, for the report. */
  samples: unknown[];
}

export interface CheckOptions {
  /** The conversations the run started: each must hold an answer. */
  conversationIds: readonly string[];
  baselineJobIds: readonly string[];
  chaosJobIds: readonly string[];
  p95Target: number;
  p95MinJobs: number;
  /**
   * When a process was down or PostgreSQL restarting during the chaos phase
   * (a kill or restart from its injection until it was serving again): the
   * p95 is broken down by whether a job met one.
   */
  outages?: readonly Outage[];
  /** Chaos jobs whose text carries a demo-model fault directive (a 429, 500s, a dropped stream). */
  modelFaultJobIds?: readonly string[];
}

export interface Outage {
  kind: string;
  from: Date;
  to: Date;
}

type Queryable = Pick<pg.Pool, "query">;

async function rows<T extends pg.QueryResultRow>(
  db: Queryable,
  sql: string,
  params: unknown[] = [],
) {
  return (await db.query<T>(sql, params)).rows;
}

async function count(db: Queryable, sql: string): Promise<number> {
  return (await rows<{ n: number }>(db, sql))[0]?.n ?? 0;
}

function row(
  id: string,
  name: string,
  checked: string,
  offending: unknown[],
  detail = "",
): InvariantRow {
  return {
    id,
    name,
    checked,
    violations: offending.length,
    result: offending.length ? "FAIL" : "pass",
    detail,
    samples: offending.slice(0, 5),
  };
}

const FINAL_JOB = `('completed', 'failed', 'cancelled')`;
/**
 * The job could not be handed to the orchestrator and was failed for it (what
 * `jobs.create` did before it retried and left such jobs to the sweeper).
 */
const DISPATCH_FAILED = `error_code = 'dispatch_failed'`;
/**
 * Outcomes that owe an email. NOTE: a job that failed at dispatch is left
 * out: the user learnt it from the `jobs.create` response itself, and no
 * function ran to send one; the "no job failed at dispatch" row counts those.
 */
export const EMAILED_OUTCOME = `status IN ('completed', 'failed') AND notify_email IS NOT NULL
   AND NOT (status = 'failed' AND ${DISPATCH_FAILED})`;

/** The text of a message's text parts, joined (lib/chat/schema.ts messageText). */
const messageText = (alias: string) =>
  `(SELECT coalesce(string_agg(p->>'text', '' ORDER BY o), '')
      FROM jsonb_array_elements(${alias}.parts) WITH ORDINALITY AS x(p, o) WHERE p->>'type' = 'text')`;

export async function checkInvariants(
  db: Queryable,
  options: CheckOptions,
): Promise<InvariantRow[]> {
  const results: InvariantRow[] = [];
  const jobs = await count(db, `SELECT count(*)::int AS n FROM jobs`);

  results.push(
    row(
      "final-jobs",
      "every job in a final state",
      `${jobs} jobs`,
      await rows(
        db,
        `SELECT id, kind, status, updated_at FROM jobs WHERE status NOT IN ${FINAL_JOB} ORDER BY created_at`,
      ),
    ),
  );

  const failedAtDispatch = await rows(
    db,
    `SELECT id, kind, created_at, finished_at FROM jobs WHERE status = 'failed' AND ${DISPATCH_FAILED}`,
  );
  results.push(
    row(
      "dispatch-failed",
      "no job failed at dispatch",
      `${jobs} jobs`,
      failedAtDispatch,
      failedAtDispatch.length
        ? "accepted jobs must wait for the orchestrator (create's retries, the sweeper), not fail"
        : "",
    ),
  );

  // The workload gives each submission its own key (sent again with each retry of
  // jobs.create): a retry after a lost answer must find the first request's job.
  results.push(
    row(
      "one-job-per-submission",
      "one job per submission",
      `${jobs} jobs`,
      await rows(
        db,
        `SELECT owner_id, request_id, count(*)::int AS jobs FROM jobs
          WHERE request_id IS NOT NULL GROUP BY owner_id, request_id HAVING count(*) > 1
         UNION ALL
         SELECT owner_id, notify_email, count(*)::int FROM jobs
          WHERE notify_email LIKE 'chaos-%' GROUP BY owner_id, notify_email HAVING count(*) > 1`,
      ),
    ),
  );

  results.push(
    row(
      "gapless-seqs",
      "event seqs gapless, no duplicate",
      `${jobs} jobs`,
      await rows(
        db,
        `SELECT j.id, j.last_seq, count(e.seq)::int AS events, min(e.seq) AS first, max(e.seq) AS last
           FROM jobs j LEFT JOIN job_events e ON e.job_id = j.id
          GROUP BY j.id, j.last_seq
         HAVING count(DISTINCT e.seq) <> count(e.seq)
             OR count(e.seq) <> coalesce(max(e.seq), 0)
             OR coalesce(min(e.seq), 1) <> 1
             OR coalesce(max(e.seq), 0) <> j.last_seq`,
      ),
    ),
  );

  results.push(
    row(
      "no-duplicate-events",
      "no step or outcome event twice",
      `${jobs} jobs`,
      await rows(
        db,
        `SELECT job_id, type, step, count(*)::int AS times FROM job_events
          WHERE type IN ('step.started', 'step.completed')
          GROUP BY job_id, type, step HAVING count(*) > 1
         UNION ALL
         SELECT job_id, 'outcome', string_agg(type, ','), count(*)::int FROM job_events
          WHERE type IN ('job.completed', 'job.failed', 'job.cancelled')
          GROUP BY job_id HAVING count(*) > 1
         UNION ALL
         SELECT j.id, 'outcome missing', j.status::text, 0 FROM jobs j
          WHERE j.status IN ${FINAL_JOB}
            AND NOT EXISTS (SELECT 1 FROM job_events e WHERE e.job_id = j.id AND e.type = 'job.' || j.status::text)`,
      ),
    ),
  );

  const completed = await count(
    db,
    `SELECT count(*)::int AS n FROM jobs WHERE status = 'completed'`,
  );
  results.push(
    row(
      "parts-once",
      "every part's output exactly once",
      `${completed} completed jobs`,
      await rows(
        db,
        // A partial result recorded twice (any job, any state).
        `SELECT job_id, 'partial twice' AS problem, data->>'key' AS key, count(*)::int AS n FROM job_events
          WHERE type = 'partial' GROUP BY job_id, data->>'key' HAVING count(*) > 1
         UNION ALL
         -- A completed summary without exactly part-1..part-N.
         SELECT j.id, 'parts', (j.result->>'parts'), count(DISTINCT e.data->>'key')::int FROM jobs j
           LEFT JOIN job_events e ON e.job_id = j.id AND e.type = 'partial' AND e.data->>'key' ~ '^part-[0-9]+$'
          WHERE j.kind = 'summarize' AND j.status = 'completed'
          GROUP BY j.id
         HAVING j.result->>'parts' IS NULL
             OR count(DISTINCT e.data->>'key') <> (j.result->>'parts')::int
             OR coalesce(max(substring(e.data->>'key' FROM 6)::int), 0) <> (j.result->>'parts')::int
         UNION ALL
         -- A completed job with a step that started and never completed, or no result.
         SELECT s.job_id, 'step never completed', s.step, 0 FROM job_events s
           JOIN jobs j ON j.id = s.job_id AND j.status = 'completed'
          WHERE s.type = 'step.started'
            AND NOT EXISTS (SELECT 1 FROM job_events c
                             WHERE c.job_id = s.job_id AND c.step = s.step AND c.type = 'step.completed')
         UNION ALL
         SELECT id, 'no result', NULL, 0 FROM jobs WHERE status = 'completed' AND result IS NULL`,
      ),
    ),
  );

  const outcomes = await count(db, `SELECT count(*)::int AS n FROM jobs WHERE ${EMAILED_OUTCOME}`);
  results.push(
    row(
      "one-email",
      "exactly one email (one Message-ID) per (job, outcome)",
      `${outcomes} outcomes`,
      await rows(
        db,
        `WITH expected AS (SELECT id, status::text AS outcome FROM jobs WHERE ${EMAILED_OUTCOME})
         SELECT x.id AS job_id, x.outcome, n.status AS notification,
                (SELECT count(*)::int FROM mailbox_messages m WHERE m.message_id = n.message_id) AS delivered
           FROM expected x LEFT JOIN notifications n ON n.job_id = x.id AND n.outcome = x.outcome
          WHERE n.id IS NULL OR n.status <> 'sent'
             OR NOT EXISTS (SELECT 1 FROM mailbox_messages m WHERE m.message_id = n.message_id)
         UNION ALL
         SELECT n.job_id, n.outcome, 'not the job''s outcome (' || j.status || ')', 0
           FROM notifications n JOIN jobs j ON j.id = n.job_id
          WHERE n.outcome <> j.status::text AND n.outcome <> 'needs_input'
         UNION ALL
         SELECT NULL, NULL, 'mail with no notification: ' || coalesce(m.message_id, m.subject), 1
           FROM mailbox_messages m
          WHERE NOT EXISTS (SELECT 1 FROM notifications n WHERE n.message_id = m.message_id)`,
      ),
    ),
  );

  // NOTE: SMTP has no idempotent send. A process killed after the server accepted a message
  // and before the row says "sent" leaves a claim that a retry takes over when its lease ends,
  // and the retry delivers the same message again, under the same Message-ID, by which mail
  // systems (Gmail, for one) and clients recognise it. No sender can close that window, so it
  // is measured here, not enforced; a second Message-ID for one outcome fails the row above.
  const redelivered = await rows<{ job_id: string; outcome: string; delivered: number }>(
    db,
    `SELECT n.job_id, n.outcome, count(m.id)::int AS delivered
       FROM notifications n JOIN mailbox_messages m ON m.message_id = n.message_id
      GROUP BY n.job_id, n.outcome HAVING count(m.id) > 1`,
  );
  results.push({
    ...row(
      "redelivered",
      "one Message-ID delivered again (kill after SMTP accept)",
      `${outcomes} outcomes`,
      redelivered,
      `${redelivered.length} of ${outcomes}: at-least-once, measured, not enforced`,
    ),
    result: "info",
  });

  const answers = await rows<{ status: string; stale: boolean; n: number }>(
    db,
    `SELECT status::text, status = 'streaming' AND updated_at < now() - make_interval(secs => $1) AS stale,
            count(*)::int AS n
       FROM messages WHERE role = 'assistant' GROUP BY 1, 2 ORDER BY 1`,
    [STALE_STREAM_SECONDS],
  );
  const answerCount = answers.reduce((sum, answer) => sum + answer.n, 0);
  const byStatus = answers
    .map(
      (answer) =>
        `${answer.status}${answer.stale ? " (stale: shown as interrupted)" : ""} ${answer.n}`,
    )
    .join(", ");
  results.push(
    row(
      "answered-turns",
      "every chat turn stored with an answer",
      `${options.conversationIds.length} chats`,
      await rows(
        db,
        `SELECT chat.conversation_id FROM unnest($1::uuid[]) AS chat(conversation_id)
          WHERE NOT EXISTS (SELECT 1 FROM messages m
                             WHERE m.conversation_id = chat.conversation_id AND m.role = 'assistant')`,
        [options.conversationIds],
      ),
    ),
  );

  results.push(
    row(
      "final-answers",
      "every chat answer final",
      `${answerCount} answers`,
      await rows(
        db,
        `SELECT id, conversation_id, status, updated_at FROM messages
          WHERE role = 'assistant' AND status = 'streaming'
            AND updated_at >= now() - make_interval(secs => $1)`,
        [STALE_STREAM_SECONDS],
      ),
      byStatus,
    ),
  );

  const textRows = await rows<{ id: string; status: string; problem: string }>(
    db,
    `WITH answers AS (
       SELECT a.id, a.status::text AS status,
              trim(regexp_replace(${messageText("u")}, '[ \\t]*\\[\\[demo:[^\\]]*\\]\\]', '', 'g')) AS prompt,
              ${messageText("a")} AS text
         FROM messages a
         JOIN messages u ON u.conversation_id = a.conversation_id AND u.position = a.position - 1 AND u.role = 'user'
        WHERE a.role = 'assistant'),
     reference AS (
       SELECT prompt, min(text) AS text, count(DISTINCT text)::int AS variants
         FROM answers WHERE status = 'complete' GROUP BY prompt)
     SELECT a.id, a.status,
            CASE WHEN r.prompt IS NULL THEN 'unchecked'
                 WHEN r.variants > 1 THEN 'complete answers to one prompt differ'
                 WHEN a.status = 'complete' AND a.text <> r.text THEN 'complete but not the reference text'
                 WHEN a.status <> 'complete' AND NOT starts_with(r.text, a.text) THEN 'not a prefix of the complete answer'
                 ELSE ''
            END AS problem,
            length(a.text) AS chars, length(r.text) AS reference_chars
       FROM answers a LEFT JOIN reference r USING (prompt)`,
  );
  const unchecked = textRows.filter((answer) => answer.problem === "unchecked").length;
  results.push(
    row(
      "no-duplicated-text",
      "no duplicated chat text",
      `${textRows.length} answers`,
      textRows.filter((answer) => answer.problem !== "" && answer.problem !== "unchecked"),
      unchecked ? `${unchecked} without a complete answer to compare with` : "",
    ),
  );

  results.push(...(await durationRows(db, options)));
  return results;
}

export function formatTable(results: readonly InvariantRow[]): string {
  const header = ["invariant", "checked", "violations", "result", "detail"];
  const lines = results.map((r) => [r.name, r.checked, String(r.violations), r.result, r.detail]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((line) => line[i]!.length)));
  const format = (cells: string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(" | ")} |`;
  return [
    format(header),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...lines.map(format),
  ].join("\n");
}
