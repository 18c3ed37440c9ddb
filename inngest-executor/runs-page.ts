/**
 * The executor's runs page (`GET /`): recent runs, each with its steps drawn
 * as a timeline (server-rendered SVG, no external assets) with durations and
 * attempts, the flow-control rules that delayed or shaped it, and the events
 * a rule kept from starting a run at all.
 */
import type { RecentRun, RunSummaryRow, SkippedRun, StepSummaryRow } from "./engine";

const STATUS_LABELS = {
  running: "Running",
  completed: "Completed",
  failed: "Failed",
  cancelled: "Cancelled",
} as const;

const BAR_COLOURS: Record<string, string> = {
  completed: "#2f9e44",
  failed: "#e03131",
  retrying: "#f08c00",
  waiting: "#1c7ed6",
  queued: "#868e96",
  cancelled: "#adb5bd",
};

const TIMELINE_WIDTH = 420;
const LABEL_WIDTH = 150;
const ROW_HEIGHT = 16;

export function statusLabel(status: RunSummaryRow["status"]): string {
  return STATUS_LABELS[status] ?? status;
}

function escapeHtml(value: unknown): string {
  return String(value ?? "").replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function ms(value: Date | string | null | undefined): number | null {
  return value ? new Date(value).getTime() : null;
}

function durationText(milliseconds: number): string {
  return milliseconds < 1000
    ? `${Math.round(milliseconds)} ms`
    : `${(milliseconds / 1000).toFixed(1)} s`;
}

interface Bar {
  label: string;
  start: number;
  end: number;
  colour: string;
  text: string;
  /** Data attributes that name the step, its op and status (for tests and scripts). */
  data?: string;
}

/** One row per step: a bar from its start to its end (or now), on the run's own time scale. */
function timeline(run: RecentRun, now: number): string {
  const origin = ms(run.created_at) ?? now;
  const end = Math.max(
    ms(run.ended_at) ?? now,
    ...run.steps.map((step) => ms(step.ended_at) ?? ms(step.started_at) ?? origin),
  );
  const span = Math.max(end - origin, 1);
  const scale = (at: number) => LABEL_WIDTH + ((at - origin) / span) * TIMELINE_WIDTH;
  const bars: Bar[] = [];
  // The wait before the first call went out (a throttle, batch, debounce or concurrency limit).
  const waitEnd = ms(run.started_at) ?? (run.status === "running" ? now : null);
  if (waitEnd !== null && waitEnd - origin > 1)
    bars.push({
      label: "queued",
      start: origin,
      end: waitEnd,
      colour: "#dee2e6",
      text: durationText(waitEnd - origin),
    });
  for (const step of run.steps) bars.push(stepBar(step, now, origin));
  const height = bars.length * ROW_HEIGHT + 4;
  const rows = bars.map((bar, index) => {
    const y = index * ROW_HEIGHT;
    const x = scale(bar.start);
    const width = Math.max(scale(bar.end) - x, 2);
    return (
      `<text x="0" y="${y + 13}">${escapeHtml(bar.label.slice(0, 24))}</text>` +
      `<rect x="${x.toFixed(1)}" y="${y + 2}" width="${width.toFixed(1)}" height="${ROW_HEIGHT - 4}" rx="2" fill="${bar.colour}"${bar.data ?? ""}>` +
      `<title>${escapeHtml(`${bar.label}: ${bar.text}`)}</title></rect>` +
      `<text x="${(x + width + 4).toFixed(1)}" y="${y + 13}" fill="#495057">${escapeHtml(bar.text)}</text>`
    );
  });
  return (
    `<svg role="img" aria-label="Step timeline" width="${LABEL_WIDTH + TIMELINE_WIDTH + 110}" height="${height}" ` +
    `xmlns="http://www.w3.org/2000/svg" font-size="11" font-family="system-ui,sans-serif">${rows.join("")}` +
    `<text x="${LABEL_WIDTH + TIMELINE_WIDTH}" y="${height - 2}" text-anchor="end" fill="#868e96">${escapeHtml(durationText(span))}</text></svg>`
  );
}

function stepBar(step: StepSummaryRow, now: number, runStart: number): Bar {
  const start = ms(step.started_at) ?? runStart;
  const stop = ms(step.ended_at) ?? now;
  const attempts = step.attempts > 1 ? ` · ${step.attempts} attempts` : "";
  return {
    label: step.name ?? step.step_id,
    start,
    end: stop,
    colour: BAR_COLOURS[step.status] ?? "#845ef7",
    data: ` data-step="${escapeHtml(step.name ?? step.step_id)}" data-op="${escapeHtml(step.op)}" data-status="${escapeHtml(step.status)}" data-attempts="${step.attempts}"`,
    text: `${durationText(stop - start)}${attempts}${step.status === "completed" ? "" : ` · ${step.status}`}`,
  };
}

/** The rules that shaped a run, including a wait for a concurrency slot (derived from its start). */
function flowNotes(run: RecentRun): string {
  const notes = [...(run.flow ?? [])];
  const created = ms(run.created_at);
  const started = ms(run.started_at);
  if (
    run.concurrency_keys.length > 0 &&
    created !== null &&
    started !== null &&
    started - created > 100
  )
    notes.push({
      rule: "concurrency",
      detail: `waited ${durationText(started - created)} for a slot`,
    });
  if (run.due_at && !run.started_at)
    notes.push({ rule: "queued", detail: `due at ${new Date(run.due_at).toISOString()}` });
  return notes
    .map(
      (note) => `<div><strong>${escapeHtml(note.rule)}</strong>: ${escapeHtml(note.detail)}</div>`,
    )
    .join("");
}

export function renderRunsPage({
  runs,
  skipped,
  refusedSyncs,
}: {
  runs: RecentRun[];
  skipped: SkippedRun[];
  refusedSyncs: { app: string; message: string; at: Date }[];
}): string {
  const now = Date.now();
  const rows = runs
    .map((run) => {
      const total = durationText(
        (ms(run.ended_at) ?? now) - (ms(run.started_at) ?? ms(run.created_at) ?? now),
      );
      return `<tr class="${escapeHtml(run.status)}"><td><code>${escapeHtml(run.id)}</code><br>${escapeHtml(run.function_id)}<br><small>${escapeHtml(run.event_name ?? "")}</small></td>
<td>${escapeHtml(statusLabel(run.status))}<br><small>${escapeHtml(new Date(run.created_at).toISOString())}</small><br>${escapeHtml(total)}</td>
<td>${flowNotes(run)}</td>
<td>${timeline(run, now)}${run.error ? `<div class="error">${escapeHtml(run.error.message)}</div>` : ""}</td></tr>`;
    })
    .join("\n");
  const skippedRows = skipped
    .map(
      (skip) =>
        `<tr><td>${escapeHtml(new Date(skip.skipped_at).toISOString())}</td><td>${escapeHtml(skip.function_id)}</td><td><code>${escapeHtml(skip.event_id ?? "")}</code></td><td><strong>${escapeHtml(skip.rule)}</strong>: ${escapeHtml(skip.detail)}</td></tr>`,
    )
    .join("\n");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="3">
<title>Inngest executor: runs</title>
<style>body{font:14px system-ui,sans-serif;margin:1.5rem}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}
.failed td{background:#fff1f0}.cancelled td{color:#777}.running td{background:#f0f7ff}.error{color:#b00}small{color:#666}</style></head>
<body><h1>Recent runs</h1><p>Embedded Inngest executor (development). Refreshes every 3 seconds.</p>
${refusedSyncs.map((refusal) => `<p class="error" role="alert"><strong>Sync refused</strong> (${escapeHtml(refusal.at.toISOString())}): ${escapeHtml(refusal.message)}</p>`).join("\n")}
<table><thead><tr><th>Run</th><th>Status</th><th>Flow control</th><th>Steps</th></tr></thead>
<tbody>${rows || `<tr><td colspan="4">No runs yet.</td></tr>`}</tbody></table>
<h2>Events skipped by flow control</h2>
<table><thead><tr><th>When</th><th>Function</th><th>Event</th><th>Rule</th></tr></thead>
<tbody>${skippedRows || `<tr><td colspan="4">None.</td></tr>`}</tbody></table></body></html>`;
}
