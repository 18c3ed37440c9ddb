/**
 * Reading the development SMTP sink's mailbox (/dev/mailbox). Development
 * only: the mailbox holds every signed job link the app mailed, so it must
 * never be reachable in production.
 */
import "server-only";
import { z } from "zod";
import { db } from "@/lib/db";
import { env } from "@/lib/env";

/**
 * On outside production. `DEV_MAILBOX=on` turns it on in a production build
 * too: for the e2e server only, never for a real deployment.
 */
export function mailboxEnabled(config: { NODE_ENV: string; DEV_MAILBOX?: string } = env): boolean {
  return config.NODE_ENV !== "production" || config.DEV_MAILBOX === "on";
}

export const MAILBOX_PAGE_SIZE = 50;

export function listMailboxMessages(limit = MAILBOX_PAGE_SIZE) {
  return db.mailboxMessage.findMany({
    orderBy: [{ receivedAt: "desc" }, { id: "desc" }],
    take: limit,
    select: { id: true, subject: true, from: true, to: true, envelopeTo: true, receivedAt: true },
  });
}

export async function mailboxMessage(id: string) {
  if (!z.uuid().safeParse(id).success) return null;
  return db.mailboxMessage.findUnique({
    where: { id },
    select: {
      id: true,
      messageId: true,
      subject: true,
      from: true,
      to: true,
      envelopeFrom: true,
      envelopeTo: true,
      text: true,
      html: true,
      receivedAt: true,
    },
  });
}

/** The http(s) links in a plain-text body, in order, without repeats. */
export function linksIn(text: string | null): string[] {
  if (!text) return [];
  const found = text.match(/https?:\/\/[^\s<>"'()[\]]+/g) ?? [];
  return [...new Set(found.map((link) => link.replace(/[.,;:!?]+$/, "")))];
}

/**
 * What the sandboxed frame renders: the mail's HTML behind a Content
 * Security Policy that loads nothing from anywhere (the iframe's `sandbox`
 * already stops scripts; this also stops remote images and fonts).
 */
export function sandboxedHtml(html: string): string {
  // NOTE: a <meta> before the doctype is parsed into <head>, where the policy applies.
  return `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">${html}`;
}
