/**
 * Research: plan sub-questions, optionally wait for the user to approve or
 * edit the plan, search for each sub-question in parallel, read the best
 * sources, and write a report whose `[n]` markers cite them. In economy
 * mode the sources read are condensed through the provider's batch API
 * first (_lib/research-economy.ts). With a budget, a model call starts only
 * if its worst-case cost fits in what is left; past the deadline no source
 * is fetched. Either way the job completes with what it has: without the
 * report (it cannot be afforded, or it is too late to write it), the plan
 * and the sources read stand as a partial result, marked as such.
 */
import { generateText } from "ai";
import { createJobFunction } from "@/inngest/functions/_lib/job-function";
import { callModel, jobFailure, liveUsage } from "@/inngest/functions/_lib/job-step";
import { numberedPlan, settlePlan } from "@/inngest/functions/_lib/plan-approval";
import { condenseSources } from "@/inngest/functions/_lib/research-economy";
import {
  answerWithSourcesPrompt,
  parseCitations,
  parseSubQuestions,
  planSubQuestionsPrompt,
  type Passage,
  type TaskPrompt,
} from "@/lib/ai/prompts";
import { priceFor } from "@/lib/ai/pricing";
import { languageModel, modelInfo, modelPrices } from "@/lib/ai/providers";
import { db } from "@/lib/db";
import { isIngestError } from "@/lib/ingest/errors";
import { promptWorstCaseMicros } from "@/lib/jobs/batch/prompt";
import { jobLimits, limitReached, stopReasonText, type StopReason } from "@/lib/jobs/limits";
import { storedJobInputSchema } from "@/lib/jobs/schemas";
import { search, type SearchHit } from "@/lib/search";
import { bestPassages } from "@/lib/search/documents";
import { downloadDocument } from "@/lib/ingest/download-document";

const SUB_QUESTIONS = 3;
/** Output caps, so that a budget can bound each call's worst case. */
const PLAN_MAX_OUTPUT_TOKENS = 2_048;
const REPORT_MAX_OUTPUT_TOKENS = 8_192;
const MAX_SUB_QUESTIONS = 6;
const HITS_PER_SEARCH = 5;
const SOURCES_TO_READ = 5;
/** Sources ranked across searches: found early and by several sub-questions first. */
function chooseSources(searches: readonly SearchHit[][], limit: number): SearchHit[] {
  const scores = new Map<string, { hit: SearchHit; score: number; first: number }>();
  let order = 0;
  for (const hits of searches) {
    hits.forEach((hit, rank) => {
      const entry = scores.get(hit.ref) ?? { hit, score: 0, first: order++ };
      entry.score += 1 / (rank + 1);
      scores.set(hit.ref, entry);
    });
  }
  return [...scores.values()]
    .sort((a, b) => b.score - a.score || a.first - b.first)
    .slice(0, limit)
    .map((entry) => entry.hit);
}

/** Whether what the budget has left (null: no budget) covers this live call at its worst case. */
function affordable(
  remaining: number | null,
  prompt: TaskPrompt & { maxOutputTokens: number },
): boolean {
  if (remaining === null) return true;
  const price = priceFor(modelPrices(), modelInfo().modelId);
  return promptWorstCaseMicros(prompt, price, "live") <= remaining;
}

/** The result of a job stopped before its report: the plan and the sources read stand. */
function partialResult(reason: StopReason, plan: string[]) {
  return {
    markdown: `**Partial result.** ${stopReasonText[reason]} The report was not written; the plan and the sources the job read are below.`,
    subQuestions: plan,
    partial: true,
    stopReason: reason,
  };
}

export const researchQuestion = createJobFunction({
  id: "research-question",
  kind: "research",
  handler: async (job) => {
    const planned = await job.run("plan-sub-questions", "Planning the research", async () => {
      const row = await db.job.findUniqueOrThrow({
        where: { id: job.id },
        select: { input: true },
      });
      const input = storedJobInputSchema.parse(row.input);
      if (input.kind !== "research")
        throw jobFailure("invalid_input", "This job is not a research question.");
      const prompt = {
        ...planSubQuestionsPrompt({ question: input.question, count: SUB_QUESTIONS }),
        maxOutputTokens: PLAN_MAX_OUTPUT_TOKENS,
      };
      // A budget too small to plan still searches for the question itself.
      const planning = affordable((await jobLimits(job.id)).remaining, prompt)
        ? await callModel(() => generateText({ model: languageModel(), ...prompt, maxRetries: 0 }))
        : null;
      const subQuestions = parseSubQuestions(planning?.text ?? "")
        .map((item) => item.trim().slice(0, 500))
        .filter((item) => item.length >= 3)
        .slice(0, MAX_SUB_QUESTIONS);
      const plan = subQuestions.length > 0 ? subQuestions : [input.question];
      return {
        value: {
          question: input.question,
          approvePlan: input.approvePlan,
          economy: input.economy,
          plan,
        },
        outputs: { progress: 0.1, usage: liveUsage(planning ? [planning] : []) },
        events: [
          {
            type: "partial",
            data: { key: "plan", title: "Research plan", text: numberedPlan(plan) },
          },
        ],
      };
    });

    const plan = planned.approvePlan ? await settlePlan(job, planned.plan) : planned.plan;

    const searches = await Promise.all(
      plan.map((subQuestion, i) =>
        job.run(`search-${i + 1}`, `Searching: ${subQuestion}`.slice(0, 200), async () => {
          const hits = await search(subQuestion, { ownerId: job.ownerId, limit: HITS_PER_SEARCH });
          return {
            value: hits.map((hit) => ({ ...hit, snippet: hit.snippet.slice(0, 600) })),
            // Found sources are events only: the job's sources are the ones it
            // reads, ranked as the report numbers them.
            outputs: { progress: 0.15 + (0.35 * (i + 1)) / plan.length },
            events: hits.map((hit, rank) => ({
              type: "source.found",
              data: { ref: hit.ref, url: hit.url, title: hit.title, rank: rank + 1 },
            })),
          };
        }),
      ),
    );

    const chosen = chooseSources(searches, SOURCES_TO_READ);
    const focus = [planned.question, ...plan].join("\n");
    const passages = await Promise.all(
      chosen.map((hit, i) =>
        job.run(`read-source-${i + 1}`, `Reading: ${hit.title}`.slice(0, 200), async () => {
          let text: string;
          try {
            // Past the deadline nothing more is fetched: the search snippet stands in.
            if ((await limitReached(job.id)) === "deadline") text = hit.snippet;
            else if (hit.documentId) {
              const document = await db.document.findUnique({
                where: { id: hit.documentId },
                select: { text: true },
              });
              text = document ? bestPassages(document.text, focus) : hit.snippet;
            } else {
              const downloaded = await downloadDocument(hit.url!);
              text = bestPassages(downloaded.text, focus);
            }
          } catch (error) {
            if (!isIngestError(error) || error.retryable) throw error;
            // An unreadable page still has its search snippet; the report can cite that.
            text = hit.snippet;
          }
          return {
            value: { ref: hit.ref, title: hit.title, text: text || hit.title },
            outputs: {
              progress: 0.5 + (0.35 * (i + 1)) / chosen.length,
              sources: [
                {
                  ref: hit.ref,
                  url: hit.url,
                  documentId: hit.documentId,
                  title: hit.title,
                  snippet: hit.snippet.slice(0, 600),
                  rank: i + 1,
                  read: true,
                },
              ],
            },
            events: [
              {
                type: "source.read",
                data: { ref: hit.ref, url: hit.url, title: hit.title, rank: i + 1 },
              },
            ],
          };
        }),
      ),
    );

    const condensed = planned.economy ? await condenseSources(job, passages) : passages;

    await job.run("write-report", "Writing the report", async () => {
      // Passage n is the source ranked n, so the report's [n] and the sources list agree.
      const read = condensed;
      if (read.length === 0) {
        return {
          value: null,
          outputs: {
            status: "completed",
            result: {
              markdown:
                "No sources in your library or the shared corpus match this question, so there is nothing to report. Upload documents or import a corpus (`npm run corpus:import <dir>`), then try again.",
              subQuestions: plan,
            },
          },
        };
      }
      const prompt = {
        ...answerWithSourcesPrompt({
          question: planned.question,
          passages: read.map((passage): Passage => ({ title: passage.title, text: passage.text })),
        }),
        maxOutputTokens: REPORT_MAX_OUTPUT_TOKENS,
      };
      const limits = await jobLimits(job.id);
      const late = limits.stopped === "deadline";
      if (late || !affordable(limits.remaining, prompt)) {
        const result = partialResult(late ? "deadline" : "budget", plan);
        return { value: null, outputs: { status: "completed", result } };
      }
      const answer = await callModel(() =>
        generateText({ model: languageModel(), ...prompt, maxRetries: 0 }),
      );
      const { text } = answer;
      const markers = parseCitations(text).filter((n) => n >= 1 && n <= read.length);
      return {
        value: null,
        outputs: {
          status: "completed",
          result: { markdown: text.trim(), subQuestions: plan },
          citations: markers.map((marker) => ({ marker, sourceRef: read[marker - 1]!.ref })),
          usage: liveUsage([answer]),
        },
      };
    });
    return { jobId: job.id, sources: chosen.length };
  },
});
