import Link from "next/link";

export default function HomePage() {
  return (
    <div className="mx-auto w-full max-w-4xl px-4 py-12 sm:px-6 sm:py-20">
      <h1 className="text-3xl font-semibold tracking-tight sm:text-4xl">
        AI that streams while you watch, and keeps working while you don&apos;t.
      </h1>
      <p className="mt-4 max-w-2xl text-lg text-zinc-600 dark:text-zinc-400">
        Dispatch is a reference application for the two shapes every AI feature comes in. Each
        request is a lifecycle, not a call: numbered events, checkpoints, and honest failure states.
      </p>
      <div className="mt-10 grid gap-4 sm:grid-cols-2">
        <Link
          href="/chat"
          className="group rounded-xl border border-zinc-200 p-6 transition-colors hover:border-indigo-400 dark:border-zinc-800 dark:hover:border-indigo-500"
        >
          <h2 className="text-lg font-semibold">Chat →</h2>
          <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-400">
            Answers stream token by token and can be stopped. A broken stream keeps its partial
            answer and tells you so; you choose to retry or continue.
          </p>
        </Link>
        <Link
          href="/jobs"
          className="group rounded-xl border border-zinc-200 p-6 transition-colors hover:border-indigo-400 dark:border-zinc-800 dark:hover:border-indigo-500"
        >
          <h2 className="text-lg font-semibold">Jobs →</h2>
          <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-400">
            Research and summaries run in the background. Every step is recorded; the job&apos;s
            page shows live progress, survives reloads, and an email tells you when it is done.
          </p>
        </Link>
      </div>
    </div>
  );
}
