/**
 * The demo model's Batch API engine: batches and the state machine that
 * runs them (validating → in_progress → finalizing → completed; expired;
 * cancelling → cancelled; failed for an invalid input file). Every row is
 * answered by the live endpoint's own logic (completion.ts); files live in
 * batch-files.ts, input checking in batch-input.ts.
 *
 * NOTE: state lives in this process. Batch and file records are in memory;
 * file contents are under a temporary directory removed on stop. A restart
 * of the demo model loses every batch: clients then get a 404 for the ids
 * they hold, and the batch client reports that plainly. The demo model has
 * no database of its own, and giving it the app's would couple an offline
 * stand-in for a provider to Dispatch's schema; a provider losing a batch is
 * also a failure the job has to survive anyway.
 */
import { createHash } from "node:crypto";
import {
  BatchFiles,
  type BatchFileOptions,
  type ResultSpool,
} from "@/lib/ai/demo-model/batch-files";
import {
  TURN_BUDGET_MS,
  validateInput,
  yieldTurn,
  type ParsedRow,
} from "@/lib/ai/demo-model/batch-input";
import { injectedFailure, planCompletion, requestDirectives } from "@/lib/ai/demo-model/completion";
import {
  DirectiveError,
  parseDirectiveList,
  requestKey,
  type FaultDirective,
  type FaultLedger,
} from "@/lib/ai/demo-model/directives";
import { HttpError, notFound } from "@/lib/ai/demo-model/http";
import {
  BATCH_COMPLETION_WINDOW,
  BATCH_ENDPOINT,
  BATCH_MAX_REQUESTS,
  batchObject,
  httpErrorLine,
  newId,
  nowSeconds,
  outputLine,
  unfinishedLine,
  type BatchCreateRequest,
  type BatchLineError,
  type BatchState,
} from "@/lib/ai/demo-model/batch-protocol";
import { DEMO_MODEL_ID } from "@/lib/ai/demo-model/protocol";

export const DEFAULT_BATCH_DELAY_MS = 1_000;
export const DEFAULT_BATCH_ROWS_PER_SECOND = 50;
export const DEFAULT_BATCH_WINDOW_MS = 24 * 60 * 60 * 1000;

export interface DemoBatchOptions extends BatchFileOptions {
  /** Time a batch spends validating, and again finalizing (or cancelling). */
  delayMs?: number;
  /** Rows answered per second while in progress; 0 answers them as fast as the CPU allows. */
  rowsPerSecond?: number;
  /** The completion window: a batch still running this long after creation expires. */
  windowMs?: number;
  /** Most requests in one input file (OpenAI: 50,000). */
  maxRequests?: number;
}

interface Run {
  state: BatchState;
  /** Aborted on cancel and on stop, to cut the current wait short. */
  wake: AbortController;
}

interface RunResults {
  output: ResultSpool;
  errors: ResultSpool;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** NOTE: a function, not an inline test: `cancelBatch` changes the status while a run awaits, which TypeScript's narrowing cannot see. */
function cancelRequested(state: BatchState): boolean {
  return state.status === "cancelling";
}

export class DemoBatches {
  readonly files: BatchFiles;
  private readonly runs = new Map<string, Run>();
  private readonly stopping = new AbortController();
  private readonly delayMs: number;
  private readonly rowsPerSecond: number;
  private readonly windowMs: number;
  private readonly maxRequests: number;

  constructor(
    options: DemoBatchOptions,
    private readonly configuredFaults: readonly FaultDirective[],
    private readonly ledger: FaultLedger,
  ) {
    this.files = new BatchFiles(options);
    this.delayMs = options.delayMs ?? DEFAULT_BATCH_DELAY_MS;
    this.rowsPerSecond = options.rowsPerSecond ?? DEFAULT_BATCH_ROWS_PER_SECOND;
    this.windowMs = options.windowMs ?? DEFAULT_BATCH_WINDOW_MS;
    this.maxRequests = options.maxRequests ?? BATCH_MAX_REQUESTS;
  }

  // --- Batches

  /** Creates a batch and starts its run; `faultHeader` is the create request's `x-demo-fault`. */
  createBatch(body: BatchCreateRequest, faultHeader: string | undefined) {
    if (body.endpoint !== BATCH_ENDPOINT) {
      throw new HttpError(
        400,
        `The demo model batches ${BATCH_ENDPOINT} only, not ${body.endpoint}.`,
        "invalid_request_error",
        "unsupported_endpoint",
        "endpoint",
      );
    }
    if (body.completion_window !== BATCH_COMPLETION_WINDOW) {
      throw new HttpError(
        400,
        `completion_window must be '${BATCH_COMPLETION_WINDOW}'.`,
        "invalid_request_error",
        "invalid_value",
        "completion_window",
      );
    }
    const input = this.files.get(body.input_file_id, "input_file_id");
    if (input.purpose !== "batch") {
      throw new HttpError(
        400,
        `File ${input.id} has purpose '${input.purpose}'; a batch needs a file uploaded with purpose 'batch'.`,
        "invalid_request_error",
        "invalid_file_purpose",
        "input_file_id",
      );
    }
    // Parsed now, so a bad header is a 400 for this request rather than a failed batch later.
    let batchFaults: FaultDirective[];
    try {
      batchFaults = parseDirectiveList(faultHeader).faults;
    } catch (error) {
      if (!(error instanceof DirectiveError)) throw error;
      throw new HttpError(
        400,
        `Invalid demo directive: ${error.message}`,
        "invalid_request_error",
        "invalid_directive",
      );
    }
    const createdAt = nowSeconds();
    const state: BatchState = {
      id: newId("batch_"),
      status: "validating",
      endpoint: body.endpoint,
      inputFileId: input.id,
      completionWindow: body.completion_window,
      metadata: body.metadata ?? null,
      createdAt,
      expiresAt: createdAt + Math.ceil(this.windowMs / 1000),
      errors: [],
      counts: { total: 0, completed: 0, failed: 0 },
      usage: { inputTokens: 0, outputTokens: 0 },
    };
    const run: Run = { state, wake: new AbortController() };
    this.runs.set(state.id, run);
    const deadline = Date.now() + this.windowMs;
    void this.execute(run, batchFaults, deadline).catch((error: unknown) => {
      if (this.stopping.signal.aborted) return;
      console.error("[demo-model] batch", state.id, error);
      this.fail(state, [
        {
          code: "internal_error",
          message: "The demo model failed unexpectedly.",
          param: null,
          line: null,
        },
      ]);
    });
    return batchObject(state);
  }

  batch(id: string) {
    return batchObject(this.run(id).state);
  }

  cancelBatch(id: string) {
    const run = this.run(id);
    const { state } = run;
    if (state.status === "validating" || state.status === "in_progress") {
      state.status = "cancelling";
      state.cancellingAt = nowSeconds();
      run.wake.abort();
    } else if (state.status !== "cancelling" && state.status !== "cancelled") {
      throw new HttpError(
        400,
        `Cannot cancel a batch with status '${state.status}'.`,
        "invalid_request_error",
        "invalid_batch_status",
      );
    }
    return batchObject(state);
  }

  /** Newest first, as OpenAI lists them; `after` is the last id of the previous page. */
  listBatches(limit: number, after: string | undefined) {
    const all = [...this.runs.values()].reverse();
    const start = after ? all.findIndex((run) => run.state.id === after) + 1 : 0;
    if (after && start === 0) throw notFound("batch", after, "after");
    const page = all.slice(start, start + limit);
    return { data: page.map((run) => batchObject(run.state)), hasMore: start + limit < all.length };
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    for (const run of this.runs.values()) run.wake.abort();
    await this.files.stop();
  }

  // --- The run of one batch

  private async execute(run: Run, batchFaults: FaultDirective[], deadline: number) {
    const { state } = run;
    const results: RunResults = {
      output: await this.files.spool(),
      errors: await this.files.spool(),
    };
    await sleep(this.delayMs, run.wake.signal);
    if (this.stopping.signal.aborted) return;
    if (cancelRequested(state)) return this.finishCancelled(run, results, []);

    const content = await this.files.text(state.inputFileId);
    const { rows, errors, markerFaults } = await validateInput(
      content,
      state.endpoint,
      this.maxRequests,
    );
    if (errors.length > 0) return this.fail(state, errors);

    state.status = "in_progress";
    state.inProgressAt = nowSeconds();
    state.model = DEMO_MODEL_ID;
    state.counts.total = rows.length;
    const contentKey = `batch:${createHash("sha256").update(content).digest("base64url")}`;
    const expiry = this.ledger
      .select(
        [...this.configuredFaults, ...batchFaults, ...markerFaults].filter(
          (fault) => fault.kind === "batch-expire",
        ),
        contentKey,
      )
      .at(0);
    const expireAfter = expiry ? expiry.after : Number.POSITIVE_INFINITY;
    const rowFaults = batchFaults.filter((fault) => fault.kind !== "batch-expire");

    const started = performance.now();
    const interval = this.rowsPerSecond > 0 ? 1000 / this.rowsPerSecond : 0;
    let index = 0;
    while (index < rows.length) {
      if (this.stopping.signal.aborted) return;
      if (cancelRequested(state)) return this.finishCancelled(run, results, rows.slice(index));
      if (index >= expireAfter || Date.now() >= deadline) {
        return this.finishExpired(state, results, rows.slice(index));
      }
      const due = interval > 0 ? started + index * interval : 0;
      const wait = due - performance.now();
      if (wait > 0) {
        await sleep(wait, run.wake.signal);
        continue;
      }
      const turnStart = performance.now();
      const turnEnd = Math.min(rows.length, expireAfter);
      while (
        index < turnEnd &&
        performance.now() - turnStart < TURN_BUDGET_MS &&
        (interval === 0 || started + index * interval <= performance.now())
      ) {
        this.answer(state, rows[index]!, rowFaults, results);
        index += 1;
      }
      await results.output.flush();
      await results.errors.flush();
      await yieldTurn();
    }

    state.status = "finalizing";
    state.finalizingAt = nowSeconds();
    await sleep(this.delayMs, this.stopping.signal);
    if (this.stopping.signal.aborted) return;
    await this.writeResults(state, results);
    state.status = "completed";
    state.completedAt = nowSeconds();
  }

  /** Answers one row into the output or the error lines, exactly as the live endpoint would. */
  private answer(
    state: BatchState,
    row: ParsedRow,
    batchFaults: readonly FaultDirective[],
    results: RunResults,
  ) {
    const directives = requestDirectives(this.configuredFaults, row.messages);
    directives.faults.push(...batchFaults);
    const faults = this.ledger.select(
      directives.faults.filter((fault) => fault.kind === "fail-429" || fault.kind === "fail-500"),
      requestKey(row.request.model, row.request.messages),
    );
    const requestId = newId("chatcmpl-");
    const failure = injectedFailure(faults);
    if (failure) {
      results.errors.push(
        httpErrorLine(newId("batch_req_"), row.customId, requestId, failure.status, failure),
      );
      state.counts.failed += 1;
      return;
    }
    const plan = planCompletion(row.request, row.messages);
    const identity = { id: requestId, created: nowSeconds(), model: DEMO_MODEL_ID };
    results.output.push(
      outputLine(
        newId("batch_req_"),
        row.customId,
        identity,
        plan.tokens.join(""),
        plan.finishReason,
        plan.usage,
      ),
    );
    state.counts.completed += 1;
    state.usage.inputTokens += plan.usage.prompt_tokens;
    state.usage.outputTokens += plan.usage.completion_tokens;
  }

  private fail(state: BatchState, errors: BatchLineError[]) {
    state.status = "failed";
    state.failedAt = nowSeconds();
    state.errors = errors;
  }

  private async finishExpired(state: BatchState, results: RunResults, unfinished: ParsedRow[]) {
    for (const row of unfinished) {
      results.errors.push(unfinishedLine(newId("batch_req_"), row.customId, "batch_expired"));
    }
    await this.writeResults(state, results);
    state.status = "expired";
    state.expiredAt = nowSeconds();
  }

  private async finishCancelled(run: Run, results: RunResults, unfinished: ParsedRow[]) {
    const { state } = run;
    for (const row of unfinished) {
      results.errors.push(unfinishedLine(newId("batch_req_"), row.customId, "batch_cancelled"));
    }
    await sleep(this.delayMs, this.stopping.signal);
    if (this.stopping.signal.aborted) return;
    await this.writeResults(state, results);
    state.status = "cancelled";
    state.cancelledAt = nowSeconds();
  }

  /** Publishes the output and error files; a file with no lines is not created (its id stays null). */
  private async writeResults(state: BatchState, results: RunResults) {
    state.outputFileId = await this.files.publish(results.output, `${state.id}_output.jsonl`);
    state.errorFileId = await this.files.publish(results.errors, `${state.id}_error.jsonl`);
  }

  private run(id: string): Run {
    const run = this.runs.get(id);
    if (!run) throw notFound("batch", id, "batch_id");
    return run;
  }
}
