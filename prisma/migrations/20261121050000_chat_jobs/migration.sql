-- Jobs started from a conversation remember it (and the message their card
-- follows), so the conversation shows their cards from the server.
ALTER TABLE "jobs" ADD COLUMN "conversation_id" UUID;
ALTER TABLE "jobs" ADD COLUMN "after_message_id" VARCHAR(64);

CREATE INDEX "jobs_conversation_id_idx" ON "jobs"("conversation_id");

ALTER TABLE "jobs" ADD CONSTRAINT "jobs_conversation_id_fkey" FOREIGN KEY ("conversation_id") REFERENCES "conversations"("id") ON DELETE SET NULL ON UPDATE CASCADE;
