/**
 * The local SMTP sink for development and tests: a real SMTP server
 * (smtp-server) on loopback that accepts every message, parses it
 * (mailparser) and stores it in Postgres (`mailbox_messages`), where the
 * development mailbox page (/dev/mailbox) reads it. Nothing is relayed.
 *
 * Start it with `startSmtpSink({ port, databaseUrl })`; `npm run smtp-sink`
 * runs it alone (lib/email/sink-main.ts).
 */
import type { AddressInfo } from "node:net";
import { simpleParser } from "mailparser";
import pg from "pg";
import { SMTPServer, type SMTPServerAddress } from "smtp-server";

export interface SmtpSinkOptions {
  /** 0 picks a free port. */
  port: number;
  /** Where received mail is stored (the app's database, migrated). */
  databaseUrl: string;
  /** Loopback by default: the sink accepts mail from anyone who can reach it. */
  host?: string;
  /** Messages kept; older ones are deleted as new ones arrive. */
  keep?: number;
  /** One line per notable event; silent by default. */
  log?: (line: string) => void;
}

export interface SmtpSink {
  port: number;
  /** `smtp://host:port`, what `SMTP_URL` should be to send here. */
  url: string;
  /**
   * Refuses the next `count` messages with a temporary failure (451), as a
   * flaky provider would: senders must retry. For tests and demos.
   */
  failNext(count: number): void;
  stop(): Promise<void>;
}

const MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

function addresses(list: readonly SMTPServerAddress[]): string {
  return list.map((entry) => entry.address).join(", ");
}

export async function startSmtpSink(options: SmtpSinkOptions): Promise<SmtpSink> {
  const host = options.host ?? "127.0.0.1";
  const keep = options.keep ?? 500;
  const log = options.log ?? (() => undefined);
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 2 });
  // NOTE: without a listener, an idle connection that the server ends (a
  // PostgreSQL restart, pg_terminate_backend) is an uncaught exception that
  // takes down the process hosting the sink: with `npm run dev`, the runner
  // with the executor and the demo model. The pool reconnects on next use.
  pool.on("error", (error) => log(`database connection lost: ${error.message}`));
  let failures = 0;

  async function store(raw: Buffer, from: string, to: string): Promise<string> {
    const mail = await simpleParser(raw, { skipImageLinks: true });
    const text = (field: typeof mail.to) =>
      !field ? "" : Array.isArray(field) ? field.map((one) => one.text).join(", ") : field.text;
    // NOTE: one statement, so the message is kept only if the answer says so: a trim that
    // failed after its own INSERT (a database restart) answered 451 for a stored message, and
    // the sender's retry delivered it twice. The DELETE does not see the new row (one snapshot),
    // hence keep - 1 of the older ones.
    const { rows } = await pool.query<{ id: string }>(
      `WITH stored AS (
         INSERT INTO mailbox_messages
           (message_id, envelope_from, envelope_to, "from", "to", subject, text, html, headers, raw)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id
       ), trimmed AS (
         DELETE FROM mailbox_messages WHERE id IN (
           SELECT id FROM mailbox_messages ORDER BY received_at DESC, id OFFSET greatest($11::int - 1, 0))
       )
       SELECT id FROM stored`,
      [
        mail.messageId ?? null,
        from,
        to,
        text(mail.from),
        text(mail.to),
        mail.subject ?? "",
        mail.text ?? null,
        typeof mail.html === "string" ? mail.html : null,
        JSON.stringify(mail.headerLines),
        raw.toString("utf8"),
        keep,
      ],
    );
    return rows[0]!.id;
  }

  const server = new SMTPServer({
    banner: "Dispatch development SMTP sink (nothing is delivered)",
    // No certificate here, and the sink is loopback only.
    disabledCommands: ["STARTTLS"],
    // Senders configured with credentials may still log in; any will do.
    authOptional: true,
    onAuth(auth, _session, callback) {
      callback(null, { user: auth.username ?? "anonymous" });
    },
    size: MAX_MESSAGE_BYTES,
    logger: false,
    // Senders here close their connection after each message; do not wait long for stragglers.
    closeTimeout: 2_000,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        if ((stream as { sizeExceeded?: boolean }).sizeExceeded) {
          callback(Object.assign(new Error("Message too large"), { responseCode: 552 }));
          return;
        }
        if (failures > 0) {
          failures -= 1;
          log("refused a message (simulated temporary failure)");
          callback(
            Object.assign(new Error("Temporary failure (simulated by the sink)"), {
              responseCode: 451,
            }),
          );
          return;
        }
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : "";
        store(Buffer.concat(chunks), from, addresses(session.envelope.rcptTo)).then(
          (id) => {
            log(`stored message ${id} for ${addresses(session.envelope.rcptTo)}`);
            callback(null, `Stored as ${id}`);
          },
          (error: unknown) => {
            log(`could not store a message: ${String(error)}`);
            callback(
              Object.assign(new Error("Could not store the message"), { responseCode: 451 }),
            );
          },
        );
      });
    },
  });

  let listening = false;
  try {
    await new Promise<void>((resolve, reject) => {
      // NOTE: smtp-server re-emits its socket's errors on itself; without a
      // listener there, a taken port would be an uncaught exception.
      server.on("error", (error: NodeJS.ErrnoException) => {
        if (listening) {
          log(`error: ${String(error)}`);
          return;
        }
        reject(
          error.code === "EADDRINUSE"
            ? new Error(
                `The SMTP sink cannot listen on ${host}:${options.port}: the port is taken. Set SMTP_SINK_PORT to a free port (and SMTP_URL, if you set it).`,
              )
            : error,
        );
      });
      server.listen(options.port, host, () => {
        listening = true;
        resolve();
      });
    });
  } catch (error) {
    await pool.end();
    throw error;
  }
  const { port } = server.server.address() as AddressInfo;
  log(`listening on smtp://${host}:${port}`);

  return {
    port,
    url: `smtp://${host}:${port}`,
    failNext(count) {
      failures = Math.max(0, Math.floor(count));
    },
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.end();
    },
  };
}
