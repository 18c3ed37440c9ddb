-- Jobs (issue 5): background jobs, their append-only event log, sources and
-- citations, and the document library with a full-text index.

CREATE TYPE "job_kind" AS ENUM ('research', 'summarize');
CREATE TYPE "job_status" AS ENUM ('queued', 'running', 'waiting_for_input', 'completed', 'failed', 'cancelled');

CREATE TABLE "jobs" (
    "id" TEXT NOT NULL,
    "owner_id" UUID NOT NULL,
    "kind" "job_kind" NOT NULL,
    "status" "job_status" NOT NULL DEFAULT 'queued',
    "title" TEXT NOT NULL,
    "input" JSONB NOT NULL,
    "result" JSONB,
    "error_code" TEXT,
    "error_message" TEXT,
    "progress" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "correlation_id" TEXT NOT NULL,
    "share_enabled" BOOLEAN NOT NULL DEFAULT false,
    "notify_email" TEXT,
    "last_seq" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "jobs_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "jobs_progress_check" CHECK ("progress" >= 0 AND "progress" <= 1),
    CONSTRAINT "jobs_last_seq_check" CHECK ("last_seq" >= 0)
);
CREATE INDEX "jobs_owner_id_created_at_id_idx" ON "jobs" ("owner_id", "created_at", "id");
CREATE INDEX "jobs_owner_id_status_created_at_id_idx" ON "jobs" ("owner_id", "status", "created_at", "id");
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_owner_id_fkey"
    FOREIGN KEY ("owner_id") REFERENCES "owners" ("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "job_events" (
    "job_id" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "type" TEXT NOT NULL,
    "step" TEXT NOT NULL,
    "data" JSONB NOT NULL DEFAULT '{}',
    "idempotency_key" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "job_events_pkey" PRIMARY KEY ("job_id", "seq"),
    CONSTRAINT "job_events_seq_check" CHECK ("seq" >= 1)
);
CREATE UNIQUE INDEX "job_events_idempotency_key_key" ON "job_events" ("idempotency_key");
ALTER TABLE "job_events" ADD CONSTRAINT "job_events_job_id_fkey"
    FOREIGN KEY ("job_id") REFERENCES "jobs" ("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "documents" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "owner_id" UUID,
    "title" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "source_url" TEXT,
    "filename" TEXT,
    "mime" TEXT NOT NULL,
    "checksum" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    -- NOTE: a tsvector is capped at 1 MB, so only the first 500,000
    -- characters of a very long text are indexed (a 300-page book fits).
    "search_vector" tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, coalesce("title", '')), 'A') ||
        setweight(to_tsvector('english'::regconfig, left("text", 500000)), 'B')
    ) STORED,

    CONSTRAINT "documents_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "documents_owner_id_created_at_idx" ON "documents" ("owner_id", "created_at");
CREATE INDEX "documents_checksum_idx" ON "documents" ("checksum");
CREATE INDEX "documents_search_vector_idx" ON "documents" USING GIN ("search_vector");
ALTER TABLE "documents" ADD CONSTRAINT "documents_owner_id_fkey"
    FOREIGN KEY ("owner_id") REFERENCES "owners" ("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "job_sources" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "job_id" TEXT NOT NULL,
    "ref" TEXT NOT NULL,
    "url" TEXT,
    "document_id" UUID,
    "title" TEXT NOT NULL,
    "snippet" TEXT NOT NULL DEFAULT '',
    "rank" INTEGER NOT NULL,
    "read" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "job_sources_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "job_sources_job_id_ref_key" ON "job_sources" ("job_id", "ref");
CREATE INDEX "job_sources_job_id_rank_idx" ON "job_sources" ("job_id", "rank");
ALTER TABLE "job_sources" ADD CONSTRAINT "job_sources_job_id_fkey"
    FOREIGN KEY ("job_id") REFERENCES "jobs" ("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "job_sources" ADD CONSTRAINT "job_sources_document_id_fkey"
    FOREIGN KEY ("document_id") REFERENCES "documents" ("id") ON DELETE SET NULL ON UPDATE CASCADE;

CREATE TABLE "job_citations" (
    "job_id" TEXT NOT NULL,
    "marker" INTEGER NOT NULL,
    "source_id" UUID NOT NULL,
    "quote" TEXT,

    CONSTRAINT "job_citations_pkey" PRIMARY KEY ("job_id", "marker")
);
CREATE INDEX "job_citations_source_id_idx" ON "job_citations" ("source_id");
ALTER TABLE "job_citations" ADD CONSTRAINT "job_citations_job_id_fkey"
    FOREIGN KEY ("job_id") REFERENCES "jobs" ("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "job_citations" ADD CONSTRAINT "job_citations_source_id_fkey"
    FOREIGN KEY ("source_id") REFERENCES "job_sources" ("id") ON DELETE CASCADE ON UPDATE CASCADE;
