/**
 * Research in economy mode: the sources it read are condensed through the
 * provider's batch API (half price, up to 24 hours) before the report is
 * written live. The durable steps are the batch path's own: submit, poll
 * with backoff, read the results back by custom id. A source the provider
 * could not condense keeps its extract, so the report never loses a source;
 * so does a source the job's budget cannot cover at its worst-case price.
 */
import type { JobRun } from "@/inngest/functions/_lib/job-function";
import { callBatchApi, rememberBatch, waitForBatch } from "@/inngest/functions/_lib/batch-economy";
import { batchHandleSchema, collectResults } from "@/lib/ai/batch/types";
import { summarizePrompt } from "@/lib/ai/prompts";
import { priceFor } from "@/lib/ai/pricing";
import { batchClient, modelPrices } from "@/lib/ai/providers";
import {
  batchRequestOf,
  ITEM_MAX_OUTPUT_TOKENS,
  promptWorstCaseMicros,
} from "@/lib/jobs/batch/prompt";
import { admitWithinBudget, jobLimits } from "@/lib/jobs/limits";
import { sumUsage } from "@/lib/jobs/usage";

interface ReadSource {
  ref: string;
  title: string;
  text: string;
}

const customIdOf = (index: number) => `source-${index + 1}`;

/** A source condensed to a few sentences, with the output cap of a batch item. */
const condensePrompt = (text: string) => ({
  ...summarizePrompt({ text, maxSentences: 6 }),
  maxOutputTokens: ITEM_MAX_OUTPUT_TOKENS,
});

export async function condenseSources<S extends ReadSource>(
  job: JobRun,
  sources: readonly S[],
): Promise<S[]> {
  if (sources.length === 0) return [...sources];
  const submitted = await job.run(
    "submit-condense-batch",
    "Sending the sources to the provider's batch API (economy: this can take hours)",
    async () => {
      const prompts = sources.map((source) => condensePrompt(source.text));
      // With a budget, only the sources whose worst case fits are condensed; the rest keep their extracts.
      const price = priceFor(modelPrices(), batchClient().modelId);
      const admitted = admitWithinBudget(
        prompts.map((prompt, index) => ({ prompt, index })),
        ({ prompt }) => promptWorstCaseMicros(prompt, price, "batch"),
        (await jobLimits(job.id)).remaining,
      );
      if (admitted.length === 0) return { value: null };
      const handle = await callBatchApi(() =>
        batchClient().submit(
          admitted.map(({ prompt, index }) => batchRequestOf(customIdOf(index), prompt)),
          { key: `${job.id}-condense` },
        ),
      );
      await rememberBatch(job.id, 1, handle);
      return {
        value: { handle, indices: admitted.map(({ index }) => index) },
        events: [
          {
            type: "batch.submitted",
            data: {
              round: 1,
              items: admitted.length,
              provider: handle.provider,
              batchId: handle.batchId,
              ...(admitted.length < sources.length
                ? { heldForBudget: sources.length - admitted.length }
                : {}),
            },
          },
        ],
      };
    },
  );
  if (!submitted) return [...sources];
  const handle = batchHandleSchema.parse(submitted.handle);
  const indices = submitted.indices;
  await waitForBatch(job, 1, handle);
  const condensed = await job.run(
    "read-condensed-sources",
    "Reading the condensed sources",
    async () => {
      const results = await callBatchApi(() =>
        collectResults(batchClient(), handle, indices.map(customIdOf)),
      );
      const texts: Array<string | null> = [];
      const answered: Array<{ inputTokens: number; outputTokens: number }> = [];
      sources.forEach((_, i) => {
        const result = indices.includes(i) ? results.get(customIdOf(i)) : undefined;
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
            data: { done: answered.length, failed: indices.length - answered.length },
          },
        ],
      };
    },
  );
  return sources.map((source, i) => ({ ...source, text: condensed[i] ?? source.text }));
}
