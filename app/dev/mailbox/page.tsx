import type { Metadata } from "next";
import Link from "next/link";
import { env } from "@/lib/env";
import { fetchOrNotFound, trpc } from "@/lib/trpc/server";

export const metadata: Metadata = { title: "Mailbox (development)", robots: { index: false } };
export const dynamic = "force-dynamic";

const timeFormat = new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "medium" });

export default async function MailboxPage() {
  const messages = await fetchOrNotFound(trpc.mailbox.list.queryOptions());
  return (
    <div className="mx-auto w-full max-w-4xl px-4 py-10 sm:px-6">
      <h1 className="text-2xl font-semibold">Mailbox</h1>
      <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
        Development only: every email the app sent to the local SMTP sink ({env.SMTP_URL}). Nothing
        here was delivered to anyone.
      </p>
      {messages.length === 0 ? (
        <p className="mt-8 rounded-xl border border-dashed border-zinc-300 p-6 text-sm text-zinc-600 dark:border-zinc-700 dark:text-zinc-400">
          No mail yet. Start a job with &ldquo;Email me when it is done&rdquo; and its email will
          appear here.
        </p>
      ) : (
        <ul
          aria-label="Received emails"
          className="mt-8 divide-y divide-zinc-200 rounded-xl border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800"
        >
          {messages.map((message) => (
            <li key={message.id}>
              <Link
                href={`/dev/mailbox/${message.id}`}
                className="block px-4 py-3 hover:bg-zinc-50 dark:hover:bg-zinc-900"
              >
                <span className="block font-medium break-words">
                  {message.subject || "(no subject)"}
                </span>
                <span className="mt-0.5 block text-sm text-zinc-600 dark:text-zinc-400">
                  To {message.to || message.envelopeTo} ·{" "}
                  <time dateTime={message.receivedAt.toISOString()}>
                    {timeFormat.format(message.receivedAt)}
                  </time>
                </span>
              </Link>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
