"use client";

import { LocalTime } from "@/components/ui/local-time";
import { JobProgressBar } from "@/components/jobs/job-progress-bar";
import { JobStatusBadge } from "@/components/jobs/job-status-badge";
import { useLiveJob, type JobDetail } from "@/components/jobs/use-live-job";
import { isTerminal, type JobStatus } from "@/lib/jobs/schemas";
import {
  buildTimeline,
  closeTimeline,
  emailState,
  partialResults,
  pendingInput,
  resultText,
  statusLabels,
} from "@/lib/jobs/view-model";
import { BatchPanel, CostNote } from "./batch-panel";
import { InputRequestForm } from "./input-request-form";
import { JobActions } from "./job-actions";
import { Report, SourcesList } from "./report";
import { StepTimeline } from "./step-timeline";

function Section({
  title,
  children,
  testId,
}: {
  title: string;
  children: React.ReactNode;
  testId?: string;
}) {
  const id = `section-${title.toLowerCase().replace(/[^a-z]+/g, "-")}`;
  return (
    <section aria-labelledby={id} data-testid={testId} className="mt-8">
      <h2 id={id} className="text-lg font-semibold">
        {title}
      </h2>
      <div className="mt-3">{children}</div>
    </section>
  );
}

function InputSummary({ job }: { job: JobDetail }) {
  const input = job.input;
  if (!input) return null;
  if (input.kind === "batch") {
    return (
      <p className="text-sm">
        <span className="text-zinc-500">
          {input.source.type === "table" ? "File: " : "Items: "}
        </span>
        {input.source.type === "table"
          ? `${input.source.fileName} (${input.source.rows.toLocaleString("en")} rows)`
          : `${input.source.rows} ${input.source.type === "urls" ? "web pages" : "files"}`}{" "}
        ·{" "}
        {input.mode === "economy"
          ? "economy mode: the provider's batch API, half price, results within 24 hours"
          : "now: live calls"}
      </p>
    );
  }
  if (input.kind === "research") {
    return (
      <>
        <p className="text-sm">
          <span className="text-zinc-500">Question: </span>
          {input.question}
        </p>
        {input.economy ? (
          <p className="mt-1 text-sm text-zinc-500">
            Economy mode: the sources are condensed through the provider&apos;s batch API at half
            the price, so this report takes longer, up to 24 hours.
          </p>
        ) : null}
      </>
    );
  }
  const source = input.source;
  if (source.type === "url") {
    return (
      <p className="text-sm break-all">
        <span className="text-zinc-500">URL: </span>
        <a
          href={source.url}
          rel="noopener noreferrer nofollow"
          target="_blank"
          className="text-indigo-700 hover:underline dark:text-indigo-400"
        >
          {source.url}
        </a>
      </p>
    );
  }
  if (source.type === "text") {
    return (
      <details className="text-sm">
        <summary className="cursor-pointer text-zinc-500">
          Pasted text (
          {"length" in source ? source.length.toLocaleString("en") : source.text.length} characters)
        </summary>
        <p className="mt-2 whitespace-pre-wrap text-zinc-600 dark:text-zinc-400">{source.text}…</p>
      </details>
    );
  }
  return <p className="text-sm text-zinc-500">A document from your library.</p>;
}

function StatusPanel({ job, status }: { job: JobDetail; status: JobStatus }) {
  if (status === "failed") {
    return (
      <div
        role="alert"
        className="mt-6 rounded-xl border border-red-300 bg-red-50 p-4 text-sm dark:border-red-800 dark:bg-red-950/40"
      >
        <p className="font-semibold text-red-800 dark:text-red-300">This job failed.</p>
        <p className="mt-1 text-red-800 dark:text-red-300">
          {job.errorMessage ?? "It stopped with an unexpected error."}
        </p>
        {job.errorCode ? (
          <p className="mt-1 text-xs text-red-700/80 dark:text-red-400/80">Code: {job.errorCode}</p>
        ) : null}
      </div>
    );
  }
  if (status === "cancelled") {
    return (
      <div
        role="status"
        className="mt-6 rounded-xl border border-zinc-300 bg-zinc-50 p-4 text-sm dark:border-zinc-700 dark:bg-zinc-900"
      >
        This job was cancelled. Whatever it had found before is kept below.
      </div>
    );
  }
  return null;
}

function EmailNote({
  address,
  state,
  finished,
}: {
  address: string | null;
  state: ReturnType<typeof emailState>;
  finished: boolean;
}) {
  if (!address && !state) return null;
  const text =
    state === "sent"
      ? `The email${address ? ` to ${address}` : ""} was sent.`
      : state === "failed"
        ? `The email${address ? ` to ${address}` : ""} could not be sent yet; it is being retried.`
        : state === "gave-up"
          ? `The email${address ? ` to ${address}` : ""} could not be sent; the mail server kept refusing it. This page is the place to follow the job.`
          : finished
            ? `An email to ${address} is on its way.`
            : `You will get an email at ${address} when this job is done or needs you.`;
  return (
    <p data-testid="email-note" className="mt-3 text-sm text-zinc-600 dark:text-zinc-400">
      {text}
    </p>
  );
}

export function JobView({ id, token }: { id: string; token: string | null }) {
  const { job, events, status, progress, connection } = useLiveJob(id, token);
  if (!job || !status) return null;

  const finished = isTerminal(status);
  const timeline = closeTimeline(
    buildTimeline(events),
    finished ? (job.finishedAt ?? events.at(-1)?.createdAt ?? null) : null,
  );
  const partials = partialResults(events);
  const request = status === "waiting_for_input" ? pendingInput(events) : null;
  const report = resultText(job.result);
  const percent = Math.round(progress * 100);

  return (
    <div className="mx-auto w-full max-w-4xl px-4 py-10 sm:px-6">
      <p className="text-sm text-zinc-500">
        <span className="capitalize">{job.kind}</span> job · started{" "}
        <LocalTime date={job.createdAt} />
      </p>
      <div className="mt-1 flex flex-wrap items-start justify-between gap-3">
        <h1 className="min-w-0 text-2xl font-semibold break-words">{job.title}</h1>
        <JobStatusBadge status={status} className="mt-1.5" />
      </div>
      <div className="mt-3">
        <InputSummary job={job} />
      </div>
      <div className="mt-4">
        <JobActions job={job} status={status} token={token} />
      </div>
      <EmailNote address={job.notifyEmail} state={emailState(events)} finished={finished} />
      <CostNote job={job} />

      <div className="mt-6">
        <div className="mb-1 flex items-center justify-between text-sm">
          <span className="tabular-nums">{percent}%</span>
          <span
            className="flex items-center gap-1.5 text-xs text-zinc-500"
            data-testid="live-connection"
          >
            <span
              aria-hidden="true"
              className={`size-2 rounded-full ${connection === "pending" ? "bg-emerald-500" : connection === "error" ? "bg-red-500" : "bg-amber-400"}`}
            />
            {connection === "pending"
              ? "Live"
              : connection === "error"
                ? "Disconnected, retrying…"
                : "Connecting…"}
          </span>
        </div>
        <JobProgressBar progress={progress} status={status} label="Job progress" />
        {/* Announced politely, in tens of percent, so screen readers are not flooded. */}
        <p aria-live="polite" className="sr-only">
          {statusLabels[status]}, {Math.floor(percent / 10) * 10}%
        </p>
      </div>

      <StatusPanel job={job} status={status} />
      {request && job.canAct ? (
        <div className="mt-6">
          <InputRequestForm key={request.seq} id={job.id} token={token} request={request} />
        </div>
      ) : request ? (
        <p role="status" className="mt-6 text-sm text-amber-800 dark:text-amber-300">
          This job is waiting for its owner&apos;s input.
        </p>
      ) : null}

      <Section title="Timeline" testId="job-timeline">
        <StepTimeline steps={timeline} live={!finished} />
      </Section>

      {job.kind === "batch" ? (
        <Section title="Items" testId="batch-panel">
          <BatchPanel job={job} events={events} token={token} finished={finished} />
        </Section>
      ) : null}

      {report ? (
        <Section title={job.kind === "research" ? "Report" : "Summary"}>
          <Report text={report} job={job} />
        </Section>
      ) : null}

      {partials.length > 0 && !report ? (
        <Section title="Partial results" testId="partial-results">
          <ol className="space-y-4">
            {partials.map((partial) => (
              <li
                key={partial.key}
                className="rounded-lg border border-zinc-200 p-3 text-sm dark:border-zinc-800"
              >
                {partial.title ? <p className="font-medium">{partial.title}</p> : null}
                <p className="mt-1 whitespace-pre-wrap text-zinc-700 dark:text-zinc-300">
                  {partial.text}
                </p>
              </li>
            ))}
          </ol>
        </Section>
      ) : null}

      {job.kind === "research" || job.sources.length > 0 ? (
        <Section title="Sources">
          <SourcesList job={job} />
        </Section>
      ) : null}

      <details className="mt-10 text-sm">
        <summary className="cursor-pointer text-zinc-500">
          Event log ({events.length} events)
        </summary>
        <ol className="mt-2 space-y-1 font-mono text-xs" data-testid="event-log">
          {events.map((event) => (
            <li key={event.seq} data-seq={event.seq}>
              <span className="text-zinc-500 tabular-nums">#{event.seq}</span>{" "}
              <LocalTime date={event.createdAt} precision="seconds" /> · {event.step} · {event.type}
            </li>
          ))}
        </ol>
      </details>
    </div>
  );
}
