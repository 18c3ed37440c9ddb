/**
 * Research in economy mode: the sources it read are condensed through the
 * provider's batch API (half price, up to 24 hours) before the report is
 * written live. The durable steps are the batch path's own: submit, poll
 * with backoff, read the results back by custom id. A source the provider
 * could not condense keeps its extract, so the report never loses a source.
 */
import type { JobRun } from "@/inngest/functions/_lib/job-function";
import { callBatchApi, rememberBatch, waitForBatch } from "@/inngest/functions/_lib/batch-economy";
import { batchHandleSchema, collectResults } from "@/lib/ai/batch/types";
import { summarizePrompt } from "@/lib/ai/prompts";
import { batchClient } from "@/lib/ai/providers";
import { batchRequestOf } from "@/lib/jobs/batch/prompt";
import { sumUsage } from "@/lib/jobs/usage";

interface ReadSource {
  ref: string;
  title: string;
  text: string;
}

const customIdOf = (index: number) => `source-${index + 1}`;

export async function condenseSources<S extends ReadSource>(
  job: JobRun,
  sources: readonly S[],
): Promise<S[]> {
  if (sources.length === 0) return [...sources];
  const submitted = await job.run(
    "submit-condense-batch",
    "Sending the sources to the provider's batch API (economy: this can take hours)",
    async () => {
      const handle = await callBatchApi(() =>
        batchClient().submit(
          sources.map((source, i) =>
            batchRequestOf(customIdOf(i), summarizePrompt({ text: source.text, maxSentences: 6 })),
          ),
          { key: `${job.id}-condense` },
        ),
      );
      await rememberBatch(job.id, 1, handle);
      return {
        value: handle,
        events: [
          {
            type: "batch.submitted",
            data: {
              round: 1,
              items: sources.length,
              provider: handle.provider,
              batchId: handle.batchId,
            },
          },
        ],
      };
    },
  );
  const handle = batchHandleSchema.parse(submitted);
  await waitForBatch(job, 1, handle);
  const condensed = await job.run(
    "read-condensed-sources",
    "Reading the condensed sources",
    async () => {
      const results = await callBatchApi(() =>
        collectResults(
          batchClient(),
          handle,
          sources.map((_, i) => customIdOf(i)),
        ),
      );
      const texts: Array<string | null> = [];
      const answered: Array<{ inputTokens: number; outputTokens: number }> = [];
      sources.forEach((_, i) => {
        const result = results.get(customIdOf(i));
        if (result?.ok && result.text.trim()) {
          answered.push(result.usage);
          texts.push(result.text.trim());
        } else texts.push(null);
      });
      return {
        value: texts,
        outputs: { usage: [sumUsage(handle.modelId, "batch", answered)] },
        events: [
          {
            type: "batch.items",
            data: { done: answered.length, failed: sources.length - answered.length },
          },
        ],
      };
    },
  );
  return sources.map((source, i) => ({ ...source, text: condensed[i] ?? source.text }));
}
