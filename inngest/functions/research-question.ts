/**
 * Research: plan sub-questions, optionally wait for the user to approve or
 * edit the plan, search for each sub-question in parallel, read the best
 * sources, and write a report whose `[n]` markers cite them.
 */
import { generateText } from "ai";
import { inngest } from "@/inngest/client";
import { jobOutcomeEvent } from "@/lib/email/events";
import {
  callModel,
  jobFailure,
  jobFunctionOptions,
  jobRequestedDataSchema,
  jobStep,
  jobWrite,
  markJobFailed,
  type StepTools,
} from "@/inngest/functions/_lib/job-step";
import {
  answerWithSourcesPrompt,
  parseCitations,
  parseSubQuestions,
  planSubQuestionsPrompt,
  type Passage,
} from "@/lib/ai/prompts";
import { languageModel } from "@/lib/ai/providers";
import { db } from "@/lib/db";
import { isIngestError } from "@/lib/ingest/errors";
import { jobResponseSchema, storedJobInputSchema, type JobResponse } from "@/lib/jobs/schemas";
import { search, type SearchHit } from "@/lib/search";
import { bestPassages } from "@/lib/search/documents";
import { downloadDocument } from "@/lib/ingest/download-document";

export const SUB_QUESTIONS = 3;
const MAX_SUB_QUESTIONS = 6;
export const HITS_PER_SEARCH = 5;
export const SOURCES_TO_READ = 5;
/** How long a plan waits for approval before the research goes ahead with it. */
export const APPROVAL_TIMEOUT = "24h";
// NOTE: a wait only sees events sent after it began. An answer given in the
// instant between the request and the wait is recorded in the log by
// jobs.respond, so after a short first wait the log is checked before waiting on.
const FIRST_WAIT = "10s";

const numbered = (items: readonly string[]) =>
  items.map((item, i) => `${i + 1}. ${item}`).join("\n");

/** Sources ranked across searches: found early and by several sub-questions first. */
export function chooseSources(searches: readonly SearchHit[][], limit: number): SearchHit[] {
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

async function recordedAnswer(jobId: string, afterSeq: number): Promise<JobResponse | null> {
  const event = await db.jobEvent.findFirst({
    where: { jobId, type: "input.provided", seq: { gt: afterSeq } },
    orderBy: { seq: "desc" },
    select: { data: true },
  });
  const parsed = jobResponseSchema.safeParse(event?.data);
  return parsed.success ? parsed.data : null;
}

async function waitForPlanAnswer(
  step: StepTools,
  jobId: string,
  requestSeq: number,
): Promise<JobResponse | null> {
  const wait = { event: "job/input.provided", if: "async.data.jobId == event.data.jobId" } as const;
  const fromEvent = (received: { data: unknown } | null) => {
    const parsed = jobResponseSchema.safeParse(
      (received?.data as { response?: unknown } | undefined)?.response,
    );
    return parsed.success ? parsed.data : null;
  };
  const first = await step.waitForEvent("wait-for-plan-approval", { ...wait, timeout: FIRST_WAIT });
  if (first) return fromEvent(first);
  const early = await step.run("check-recorded-answer", () => recordedAnswer(jobId, requestSeq));
  if (early) return early;
  const later = await step.waitForEvent("wait-longer-for-plan-approval", {
    ...wait,
    timeout: APPROVAL_TIMEOUT,
  });
  if (later) return fromEvent(later);
  return step.run("check-recorded-answer-again", () => recordedAnswer(jobId, requestSeq));
}

export const researchQuestion = inngest.createFunction(
  {
    id: "research-question",
    triggers: [{ event: "job/research.requested" }],
    ...jobFunctionOptions,
    onFailure: markJobFailed,
  },
  async ({ event, step }) => {
    const { jobId, ownerId } = jobRequestedDataSchema.parse(event.data);
    await jobWrite(step, jobId, "mark-job-running", { status: "running" });

    const planned = await jobStep(
      step,
      jobId,
      "plan-sub-questions",
      "Planning the research",
      async () => {
        const job = await db.job.findUniqueOrThrow({
          where: { id: jobId },
          select: { input: true },
        });
        const input = storedJobInputSchema.parse(job.input);
        if (input.kind !== "research")
          throw jobFailure("invalid_input", "This job is not a research question.");
        const { text } = await callModel(() =>
          generateText({
            model: languageModel(),
            ...planSubQuestionsPrompt({ question: input.question, count: SUB_QUESTIONS }),
            maxRetries: 0,
          }),
        );
        const subQuestions = parseSubQuestions(text)
          .map((item) => item.trim().slice(0, 500))
          .filter((item) => item.length >= 3)
          .slice(0, MAX_SUB_QUESTIONS);
        const plan = subQuestions.length > 0 ? subQuestions : [input.question];
        return {
          value: { question: input.question, approvePlan: input.approvePlan, plan },
          outputs: { progress: 0.1 },
          events: [
            {
              type: "partial",
              data: { key: "plan", title: "Research plan", text: numbered(plan) },
            },
          ],
        };
      },
    );

    let plan = planned.plan;
    if (planned.approvePlan) {
      const request = await step.run("request-plan-approval", async () => {
        const { commitStep } = await import("@/lib/jobs/event-log");
        await commitStep(jobId, "request-plan-approval", {
          status: "waiting_for_input",
          events: [
            {
              type: "input.requested",
              data: {
                prompt: "Approve the research plan, or edit the sub-questions, to start searching.",
                plan,
              },
            },
          ],
        });
        const latest = await db.jobEvent.findFirst({
          where: { jobId, type: "input.requested" },
          orderBy: { seq: "desc" },
          select: { seq: true },
        });
        return { seq: latest?.seq ?? 0 };
      });
      await step.sendEvent("notify-needs-input", jobOutcomeEvent(jobId, "needs_input"));
      const answer = await waitForPlanAnswer(step, jobId, request.seq);
      if (answer?.action === "edit") plan = answer.plan;
      await jobWrite(step, jobId, "resume-research", {
        status: "running",
        events: answer
          ? [
              {
                type: "partial",
                data: {
                  key: "plan",
                  title:
                    answer.action === "edit"
                      ? "Research plan (edited)"
                      : "Research plan (approved)",
                  text: numbered(plan),
                },
              },
            ]
          : [
              {
                type: "partial",
                data: {
                  key: "plan",
                  title: "Research plan (no answer; went ahead)",
                  text: numbered(plan),
                },
              },
            ],
      });
    }

    const searches = await Promise.all(
      plan.map((subQuestion, i) =>
        jobStep(
          step,
          jobId,
          `search-${i + 1}`,
          `Searching: ${subQuestion}`.slice(0, 200),
          async () => {
            const hits = await search(subQuestion, { ownerId, limit: HITS_PER_SEARCH });
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
          },
        ),
      ),
    );

    const chosen = chooseSources(searches, SOURCES_TO_READ);
    const focus = [planned.question, ...plan].join("\n");
    const passages = await Promise.all(
      chosen.map((hit, i) =>
        jobStep(
          step,
          jobId,
          `read-source-${i + 1}`,
          `Reading: ${hit.title}`.slice(0, 200),
          async () => {
            let text: string;
            try {
              if (hit.documentId) {
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
          },
        ),
      ),
    );

    await jobStep(step, jobId, "write-report", "Writing the report", async () => {
      // Passage n is the source ranked n, so the report's [n] and the sources list agree.
      const read = passages;
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
      const prompt = answerWithSourcesPrompt({
        question: planned.question,
        passages: read.map((passage): Passage => ({ title: passage.title, text: passage.text })),
      });
      const { text } = await callModel(() =>
        generateText({ model: languageModel(), ...prompt, maxRetries: 0 }),
      );
      const markers = parseCitations(text).filter((n) => n >= 1 && n <= read.length);
      return {
        value: null,
        outputs: {
          status: "completed",
          result: { markdown: text.trim(), subQuestions: plan },
          citations: markers.map((marker) => ({ marker, sourceRef: read[marker - 1]!.ref })),
        },
      };
    });
    await step.sendEvent("notify-outcome", jobOutcomeEvent(jobId, "completed"));
    return { jobId, sources: chosen.length };
  },
);
