import type { Metadata } from "next";
import Link from "next/link";
import { linksIn, sandboxedHtml } from "@/lib/email/mailbox";
import { fetchOrNotFound, trpc } from "@/lib/trpc/server";

export const metadata: Metadata = { title: "Email (development)", robots: { index: false } };
export const dynamic = "force-dynamic";

const timeFormat = new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "medium" });

export default async function MailboxMessagePage({ params }: { params: Promise<{ id: string }> }) {
  const message = await fetchOrNotFound(trpc.mailbox.byId.queryOptions({ id: (await params).id }));
  const links = linksIn(message.text);

  return (
    <div className="mx-auto w-full max-w-4xl px-4 py-10 sm:px-6">
      <Link href="/dev/mailbox" className="text-sm text-indigo-600 underline dark:text-indigo-400">
        ← Mailbox
      </Link>
      <h1 className="mt-3 text-2xl font-semibold break-words">
        {message.subject || "(no subject)"}
      </h1>
      <dl className="mt-4 grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm">
        <dt className="text-zinc-500">From</dt>
        <dd className="break-all">{message.from || message.envelopeFrom}</dd>
        <dt className="text-zinc-500">To</dt>
        <dd className="break-all">{message.to || message.envelopeTo}</dd>
        <dt className="text-zinc-500">Received</dt>
        <dd>
          <time dateTime={message.receivedAt.toISOString()}>
            {timeFormat.format(message.receivedAt)}
          </time>
        </dd>
        <dt className="text-zinc-500">Message-ID</dt>
        <dd className="font-mono text-xs leading-5 break-all">{message.messageId ?? "none"}</dd>
      </dl>

      {links.length > 0 ? (
        <section aria-labelledby="links-heading" className="mt-6">
          <h2 id="links-heading" className="text-sm font-medium">
            Links in this email
          </h2>
          <ul className="mt-1 space-y-1 text-sm">
            {links.map((link) => (
              <li key={link}>
                <a
                  href={link}
                  rel="noreferrer"
                  className="break-all text-indigo-600 underline dark:text-indigo-400"
                >
                  {link}
                </a>
              </li>
            ))}
          </ul>
        </section>
      ) : null}

      {message.html ? (
        <section aria-labelledby="html-heading" className="mt-6">
          <h2 id="html-heading" className="text-sm font-medium">
            HTML
          </h2>
          {/* No allow-scripts and no allow-same-origin: the mail's HTML runs nothing and reads nothing of the app. */}
          <iframe
            title="The email's HTML body"
            data-testid="mail-html"
            sandbox="allow-popups allow-popups-to-escape-sandbox"
            referrerPolicy="no-referrer"
            srcDoc={sandboxedHtml(message.html)}
            className="mt-2 h-[32rem] w-full rounded-xl border border-zinc-200 bg-white dark:border-zinc-800"
          />
        </section>
      ) : null}

      <section aria-labelledby="text-heading" className="mt-6">
        <h2 id="text-heading" className="text-sm font-medium">
          Plain text
        </h2>
        <pre className="mt-2 overflow-x-auto rounded-xl border border-zinc-200 bg-zinc-50 p-4 text-sm whitespace-pre-wrap dark:border-zinc-800 dark:bg-zinc-900">
          {message.text ?? "(none)"}
        </pre>
      </section>
    </div>
  );
}
