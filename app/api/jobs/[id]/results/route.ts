/**
 * GET /api/jobs/:id/results?format=csv|jsonl[&token=…]: a batch job's
 * per-item results as a download. Access is the job page's: the owner, an
 * email link's token, or anyone while the share link is on.
 */
import { z } from "zod";
import { ownerIdFromHeaders } from "@/lib/auth/owner-cookie";
import { DomainError } from "@/lib/errors";
import { errorResponse } from "@/lib/http/errors";
import { correlationIdOf } from "@/lib/http/request";
import { authorizeJob } from "@/lib/jobs/access";
import {
  exportBatchResults,
  resultContentTypes,
  resultFormatSchema,
} from "@/lib/jobs/batch/export";
import { accessTokenSchema } from "@/lib/jobs/schemas";

export const dynamic = "force-dynamic";

const querySchema = z.object({
  format: resultFormatSchema.default("csv"),
  token: accessTokenSchema.nullish(),
});

export async function GET(req: Request, context: { params: Promise<{ id: string }> }) {
  const correlationId = correlationIdOf(req.headers);
  try {
    const { id } = await context.params;
    const params = new URL(req.url).searchParams;
    const query = querySchema.safeParse({
      format: params.get("format") ?? undefined,
      token: params.get("token"),
    });
    if (!query.success)
      throw new DomainError("invalid_request", { message: "Ask for format=csv or format=jsonl." });
    const viewer = { ownerId: await ownerIdFromHeaders(req.headers) };
    const { job } = await authorizeJob(viewer, id, query.data.token, "read");
    if (job.kind !== "batch") throw new DomainError("job_not_found");
    const { format } = query.data;
    return new Response(exportBatchResults(job.id, format), {
      headers: {
        "content-type": resultContentTypes[format],
        "content-disposition": `attachment; filename="dispatch-${job.id}.${format}"`,
        "cache-control": "private, no-store",
        "referrer-policy": "no-referrer",
      },
    });
  } catch (error) {
    return errorResponse(error, { event: "jobs.results_failed", correlationId });
  }
}
