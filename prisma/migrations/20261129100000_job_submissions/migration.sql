-- The sweeper (lib/jobs/resend.ts) asks each minute for every owner's jobs
-- still queued after 30 s, oldest first: an index by status, then age, so
-- that query reads the few queued rows instead of the whole table.
CREATE INDEX "jobs_status_created_at_id_idx" ON "jobs" ("status", "created_at", "id");

-- The client's key for one submission (`jobs.create`'s `requestId`): a retry
-- of a request whose answer was lost finds the job the first one created
-- instead of starting the work twice. Per owner: another owner's key is
-- another submission.
ALTER TABLE "jobs" ADD COLUMN "request_id" VARCHAR(64);
CREATE UNIQUE INDEX "jobs_owner_id_request_id_key" ON "jobs" ("owner_id", "request_id");
