import { renderToStaticMarkup } from "react-dom/server";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { linksIn, mailboxEnabled, sandboxedHtml } from "@/lib/email/mailbox";
import { startSmtpSink, type SmtpSink } from "@/lib/email/sink";
import { createSmtpTransport } from "@/lib/email/transport";
import { db } from "@/lib/db";
import MailboxPage from "./page";
import MailboxMessagePage from "./[id]/page";

// The pages read through tRPC's server-side proxy, whose context reads the
// request's headers; rendered here outside a request, the mailbox needs none.
vi.mock("next/headers", () => ({ headers: async () => new Headers() }));

let sink: SmtpSink;
beforeAll(async () => {
  sink = await startSmtpSink({ port: 0, databaseUrl: inject("databaseUrl") });
});
afterAll(() => sink.stop());

describe("development mailbox", () => {
  it("is off in production unless the e2e server turns it on", () => {
    expect(mailboxEnabled({ NODE_ENV: "production" })).toBe(false);
    expect(mailboxEnabled({ NODE_ENV: "production", DEV_MAILBOX: "off" })).toBe(false);
    expect(mailboxEnabled({ NODE_ENV: "production", DEV_MAILBOX: "on" })).toBe(true);
    expect(mailboxEnabled({ NODE_ENV: "development" })).toBe(true);
    expect(mailboxEnabled({ NODE_ENV: "test" })).toBe(true);
  });

  it("lists received mail and shows one with its HTML sandboxed and its links", async () => {
    const to = `mailbox-${Date.now()}@example.test`;
    const link = "http://localhost:3000/jobs/AAAAAAAAAAAAAAAAAAAAAAAA?token=v1.1.abc";
    await createSmtpTransport(sink.url).sendMail({
      from: "dispatch@localhost",
      to,
      subject: "Mailbox <test>",
      text: `Open it: ${link}.`,
      html: `<p onclick="alert(1)">Hi</p><script>parent.document.title = "owned"</script><img src="https://tracker.example/p.gif">`,
    });
    const stored = await db.mailboxMessage.findFirstOrThrow({
      where: { envelopeTo: to },
      select: { id: true },
    });

    const list = renderToStaticMarkup(await MailboxPage());
    expect(list).toContain("Mailbox &lt;test&gt;");
    expect(list).toContain(`href="/dev/mailbox/${stored.id}"`);

    const page = renderToStaticMarkup(
      await MailboxMessagePage({ params: Promise.resolve({ id: stored.id }) }),
    );
    expect(page).toContain(`href="${link.replace(/&/g, "&amp;")}"`);
    const iframe = /<iframe[^>]*>/.exec(page)![0];
    const sandbox = /sandbox="([^"]*)"/.exec(iframe)![1]!;
    expect(sandbox.split(" ")).not.toContain("allow-scripts");
    expect(sandbox.split(" ")).not.toContain("allow-same-origin");
    expect(iframe).toContain("Content-Security-Policy");
    // The mail's HTML is only ever inside the frame's srcdoc attribute (escaped), never in the page.
    expect(page).not.toContain("<script>parent");
    expect(page).not.toContain('<p onclick="alert(1)">');
  });

  it("finds each link once, without trailing punctuation", () => {
    expect(
      linksIn(
        "See https://a.test/x?y=1. And (https://b.test/) or https://a.test/x?y=1, ftp://c.test",
      ),
    ).toEqual(["https://a.test/x?y=1", "https://b.test/"]);
    expect(linksIn(null)).toEqual([]);
  });

  it("puts a policy that loads nothing in front of the mail's HTML", () => {
    expect(sandboxedHtml("<html><body>x</body></html>")).toMatch(
      /^<meta http-equiv="Content-Security-Policy" content="default-src 'none';[^"]*">/,
    );
  });
});
