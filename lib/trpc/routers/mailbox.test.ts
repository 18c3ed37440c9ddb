import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { anonymousCaller } from "@/test/trpc";

describe("mailbox router (development)", () => {
  it("lists the mail and reads one message", async () => {
    const caller = await anonymousCaller();
    const subject = `Done: ${randomUUID()}`;
    const mail = await db.mailboxMessage.create({
      data: {
        envelopeFrom: "app@example.test",
        envelopeTo: "me@example.test",
        subject,
        text: "See https://example.test/jobs/abc",
        raw: "raw",
      },
      select: { id: true },
    });
    try {
      const listed = await caller.mailbox.list();
      // Other tests mail too: find this one rather than expect it first.
      expect(listed.find((message) => message.id === mail.id)).toMatchObject({
        id: mail.id,
        subject,
        envelopeTo: "me@example.test",
      });
      expect(await caller.mailbox.byId({ id: mail.id })).toMatchObject({
        subject,
        text: "See https://example.test/jobs/abc",
      });
    } finally {
      await db.mailboxMessage.delete({ where: { id: mail.id } });
    }
  });

  it.each([randomUUID(), "not-a-uuid"])(
    "answers NOT_FOUND for a message it does not hold (%s)",
    async (id) => {
      const caller = await anonymousCaller();
      await expect(caller.mailbox.byId({ id })).rejects.toMatchObject({ code: "NOT_FOUND" });
    },
  );
});
