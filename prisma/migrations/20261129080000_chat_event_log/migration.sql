-- Chat answers as event logs (issue 11): every UI message stream chunk of an
-- answer is appended to chat_events with a per-message sequence number; the
-- message row keeps the log's head (last_seq), where the current run began
-- (run_seq: a Continue starts a new run on the same message) and the
-- generating process's lease. The old checkpoint counter goes away.
ALTER TABLE "messages" DROP COLUMN "event_count";
ALTER TABLE "messages" ADD COLUMN "last_seq" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "messages" ADD COLUMN "run_seq" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "messages" ADD COLUMN "lease_expires_at" TIMESTAMPTZ(3);

CREATE TABLE "chat_events" (
    "message_id" VARCHAR(64) NOT NULL,
    "seq" INTEGER NOT NULL,
    "type" VARCHAR(64) NOT NULL,
    "payload" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "chat_events_pkey" PRIMARY KEY ("message_id", "seq")
);

CREATE INDEX "chat_events_created_at_idx" ON "chat_events"("created_at");

ALTER TABLE "chat_events" ADD CONSTRAINT "chat_events_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "messages"("id") ON DELETE CASCADE ON UPDATE CASCADE;
