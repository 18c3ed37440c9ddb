/**
 * The SMTP transport: nodemailer over `SMTP_URL` (in development and tests
 * the local sink, lib/email/sink.ts; in production any provider, e.g.
 * `smtps://user:pass@smtp.example.com:465`). One transport per URL, reused.
 */
import "server-only";
import nodemailer, { type Transporter } from "nodemailer";
import type SMTPTransport from "nodemailer/lib/smtp-transport";
import { env } from "@/lib/env";

const transports = new Map<string, Transporter>();

/** nodemailer's waits: to connect, for the greeting, and for silence mid-conversation. */
export const SMTP_TIMEOUTS_MS = {
  connectionTimeout: 10_000,
  greetingTimeout: 10_000,
  socketTimeout: 30_000,
} as const;

export function createSmtpTransport(smtpUrl: string): Transporter {
  const url = new URL(smtpUrl);
  const local =
    url.hostname === "127.0.0.1" || url.hostname === "localhost" || url.hostname === "::1";
  return nodemailer.createTransport({
    url: smtpUrl,
    // NOTE: bounded waits, so a hung server fails the send step (and Inngest
    // retries it) well within the notification's claim lease.
    ...SMTP_TIMEOUTS_MS,
    // The loopback sink speaks plain SMTP. Elsewhere STARTTLS is used when
    // offered; `?requireTLS=true` in the URL (or `smtps://`) insists on TLS.
    ...(local ? { ignoreTLS: true } : {}),
  } as SMTPTransport.Options);
}

export function smtpTransport(smtpUrl: string = env.SMTP_URL): Transporter {
  let transport = transports.get(smtpUrl);
  if (!transport) {
    transport = createSmtpTransport(smtpUrl);
    transports.set(smtpUrl, transport);
  }
  return transport;
}
