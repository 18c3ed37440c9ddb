-- Email (issue 6): one notification per job outcome, the address an owner
-- asked to be emailed at, and the development SMTP sink's mailbox.

ALTER TABLE "owners" ADD COLUMN "email" TEXT;

CREATE TABLE "notifications" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "key" TEXT NOT NULL,
    "job_id" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "to_address" TEXT NOT NULL,
    "message_id" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "html" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "claimed_at" TIMESTAMPTZ(3),
    "sent_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "notifications_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "notifications_outcome_check" CHECK ("outcome" IN ('completed', 'failed', 'needs_input')),
    CONSTRAINT "notifications_status_check" CHECK ("status" IN ('pending', 'sending', 'sent', 'failed'))
);
CREATE UNIQUE INDEX "notifications_key_key" ON "notifications" ("key");
CREATE UNIQUE INDEX "notifications_message_id_key" ON "notifications" ("message_id");
CREATE INDEX "notifications_job_id_idx" ON "notifications" ("job_id");
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_job_id_fkey"
    FOREIGN KEY ("job_id") REFERENCES "jobs" ("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "mailbox_messages" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "message_id" TEXT,
    "envelope_from" TEXT NOT NULL,
    "envelope_to" TEXT NOT NULL,
    "from" TEXT NOT NULL DEFAULT '',
    "to" TEXT NOT NULL DEFAULT '',
    "subject" TEXT NOT NULL DEFAULT '',
    "text" TEXT,
    "html" TEXT,
    "headers" JSONB NOT NULL DEFAULT '[]',
    "raw" TEXT NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "mailbox_messages_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "mailbox_messages_received_at_idx" ON "mailbox_messages" ("received_at");
CREATE INDEX "mailbox_messages_message_id_idx" ON "mailbox_messages" ("message_id");
