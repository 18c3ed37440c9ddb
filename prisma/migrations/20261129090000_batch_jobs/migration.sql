-- Batch jobs (issue 15): many items in one job, each with its own summary and
-- failure; the provider batches economy mode submits; the tokens of every
-- model call of a job, for its cost; a per-job budget and deadline.

-- NOTE: a value added to an enum cannot be used in the transaction that adds
-- it; nothing below uses it.
ALTER TYPE "job_kind" ADD VALUE 'batch';

CREATE TYPE "batch_item_status" AS ENUM ('pending', 'submitted', 'done', 'failed');
CREATE TYPE "usage_mode" AS ENUM ('live', 'batch');

ALTER TABLE "jobs" ADD COLUMN "budget_micros" BIGINT;
ALTER TABLE "jobs" ADD COLUMN "deadline_at" TIMESTAMPTZ(3);

CREATE TABLE "batch_items" (
    "job_id" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "label" VARCHAR(200) NOT NULL,
    "text" TEXT NOT NULL,
    "source_url" TEXT,
    "document_id" UUID,
    "status" "batch_item_status" NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "summary" TEXT,
    "error_code" VARCHAR(64),
    "error_message" TEXT,
    "mode" "usage_mode",
    "input_tokens" INTEGER NOT NULL DEFAULT 0,
    "output_tokens" INTEGER NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "batch_items_pkey" PRIMARY KEY ("job_id", "position"),
    CONSTRAINT "batch_items_position_check" CHECK ("position" >= 1)
);
CREATE INDEX "batch_items_job_id_status_idx" ON "batch_items" ("job_id", "status");
CREATE INDEX "batch_items_document_id_idx" ON "batch_items" ("document_id");
ALTER TABLE "batch_items" ADD CONSTRAINT "batch_items_job_id_fkey"
    FOREIGN KEY ("job_id") REFERENCES "jobs" ("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "batch_items" ADD CONSTRAINT "batch_items_document_id_fkey"
    FOREIGN KEY ("document_id") REFERENCES "documents" ("id") ON DELETE SET NULL ON UPDATE CASCADE;

CREATE TABLE "provider_batches" (
    "job_id" TEXT NOT NULL,
    "round" INTEGER NOT NULL,
    "handle" JSONB NOT NULL,
    "state" VARCHAR(32) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "provider_batches_pkey" PRIMARY KEY ("job_id", "round")
);
ALTER TABLE "provider_batches" ADD CONSTRAINT "provider_batches_job_id_fkey"
    FOREIGN KEY ("job_id") REFERENCES "jobs" ("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "job_usage" (
    "job_id" TEXT NOT NULL,
    "step" TEXT NOT NULL,
    "n" INTEGER NOT NULL,
    "model_id" VARCHAR(200) NOT NULL,
    "mode" "usage_mode" NOT NULL,
    "calls" INTEGER NOT NULL DEFAULT 1,
    "input_tokens" INTEGER NOT NULL,
    "output_tokens" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "job_usage_pkey" PRIMARY KEY ("job_id", "step", "n")
);
ALTER TABLE "job_usage" ADD CONSTRAINT "job_usage_job_id_fkey"
    FOREIGN KEY ("job_id") REFERENCES "jobs" ("id") ON DELETE CASCADE ON UPDATE CASCADE;
