import { z } from "zod";
import { listMailboxMessages, mailboxMessage } from "@/lib/email/mailbox";
import { DomainError } from "@/lib/errors";
import { createTRPCRouter, mailboxProcedure } from "@/lib/trpc/init";

/** The development mailbox: every email the app sent to the local SMTP sink, newest first. */
export const mailboxRouter = createTRPCRouter({
  list: mailboxProcedure.query(() => listMailboxMessages()),

  byId: mailboxProcedure.input(z.object({ id: z.string().max(64) })).query(async ({ input }) => {
    const message = await mailboxMessage(input.id);
    if (!message) throw new DomainError("mail_not_found");
    return message;
  }),
});
