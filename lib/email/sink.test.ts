import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { startSmtpSink, type SmtpSink } from "@/lib/email/sink";
import { createSmtpTransport } from "@/lib/email/transport";

let sink: SmtpSink;

beforeAll(async () => {
  sink = await startSmtpSink({ port: 0, databaseUrl: process.env.DATABASE_URL! });
});
afterAll(() => sink.stop());

function inbox(to: string) {
  return db.mailboxMessage.findMany({
    where: { envelopeTo: to },
    orderBy: { receivedAt: "asc" },
  });
}

describe("SMTP sink", () => {
  it("receives a real SMTP exchange over loopback and stores the parsed message", async () => {
    const to = `sink-${Date.now()}@example.test`;
    const info = await createSmtpTransport(sink.url).sendMail({
      from: "Dispatch <dispatch@localhost>",
      to,
      subject: "Hello from the test",
      text: "Plain body",
      html: "<p>HTML <b>body</b></p>",
      messageId: "<fixed-id@localhost>",
    });
    expect(info.accepted).toEqual([to]);
    expect(info.response).toMatch(/^250 /);

    const [stored, ...more] = await inbox(to);
    expect(more).toHaveLength(0);
    expect(stored).toMatchObject({
      messageId: "<fixed-id@localhost>",
      envelopeFrom: "dispatch@localhost",
      subject: "Hello from the test",
      from: '"Dispatch" <dispatch@localhost>',
      to,
    });
    expect(stored!.text?.trim()).toBe("Plain body");
    expect(stored!.html).toContain("<b>body</b>");
    expect(stored!.raw).toMatch(/^Content-Type: multipart\/alternative/m);
  });

  it("refuses the next messages with a temporary failure when told to, then accepts again", async () => {
    const to = `flaky-${Date.now()}@example.test`;
    const transport = createSmtpTransport(sink.url);
    sink.failNext(1);
    await expect(
      transport.sendMail({ from: "a@localhost", to, subject: "1", text: "x" }),
    ).rejects.toMatchObject({
      responseCode: 451,
    });
    await transport.sendMail({ from: "a@localhost", to, subject: "2", text: "x" });
    expect((await inbox(to)).map((message) => message.subject)).toEqual(["2"]);
  });

  it("survives the database ending its connections, and stores the next message", async () => {
    const name = `sink-test-${process.pid}`;
    const url = new URL(process.env.DATABASE_URL!);
    url.searchParams.set("application_name", name);
    const own = await startSmtpSink({ port: 0, databaseUrl: url.toString() });
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL! });
    await admin.connect();
    try {
      const to = `restart-${Date.now()}@example.test`;
      const transport = createSmtpTransport(own.url);
      await transport.sendMail({ from: "a@localhost", to, subject: "before", text: "x" });
      // The sink's pool now holds an idle connection: end it as a server restart would.
      const { rows } = await admin.query(
        "SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE application_name = $1",
        [name],
      );
      expect(rows.length).toBeGreaterThan(0);
      await transport.sendMail({ from: "a@localhost", to, subject: "after", text: "x" });
      expect((await inbox(to)).map((message) => message.subject)).toEqual(["before", "after"]);
    } finally {
      await admin.end();
      await own.stop();
    }
  });

  it("explains a taken port", async () => {
    await expect(
      startSmtpSink({ port: sink.port, databaseUrl: process.env.DATABASE_URL! }),
    ).rejects.toThrow(/port is taken/);
  });
});
