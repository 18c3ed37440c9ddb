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

  it("explains a taken port", async () => {
    await expect(
      startSmtpSink({ port: sink.port, databaseUrl: process.env.DATABASE_URL! }),
    ).rejects.toThrow(/port is taken/);
  });
});
