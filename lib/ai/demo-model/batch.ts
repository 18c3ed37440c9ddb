/**
 * The demo model's Batch API engine: uploaded files, batches and the state
 * machine that runs them (validating → in_progress → finalizing → completed;
 * expired; cancelling → cancelled; failed for an invalid input file). Every
 * row is answered by the live endpoint's own logic (completion.ts).
 *
 * NOTE: state lives in this process. Batch and file records are in memory;
 * file contents are under a temporary directory removed on stop. A restart
 * of the demo model loses every batch: clients then get a 404 for the ids
 * they hold, and the batch client reports that plainly. The demo model has
 * no database of its own, and giving it the app's would couple an offline
 * stand-in for a provider to Dispatch's schema; a provider losing a batch is
 * also a failure the job has to survive anyway.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, type ReadStream } from "node:fs";
import { appendFile, mkdtemp, readFile, rm, stat, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { DemoMessage } from "@/lib/ai/demo-model/compose";
import { injectedFailure, planCompletion, requestDirectives } from "@/lib/ai/demo-model/completion";
import {
  DirectiveError,
  parseDirectiveList,
  parseMarkers,
  requestKey,
  type FaultDirective,
  type FaultLedger,
} from "@/lib/ai/demo-model/directives";
import { HttpError } from "@/lib/ai/demo-model/http";
import {
  BATCH_COMPLETION_WINDOW,
  BATCH_ENDPOINT,
  BATCH_MAX_FILE_BYTES,
  BATCH_MAX_REPORTED_ERRORS,
  BATCH_MAX_REQUESTS,
  batchInputLineSchema,
  batchObject,
  fileObject,
  httpErrorLine,
  outputLine,
  unfinishedLine,
  type BatchCreateRequest,
  type BatchLineError,
  type BatchState,
  type FilePurpose,
  type StoredFile,
} from "@/lib/ai/demo-model/batch-protocol";
import {
  DEMO_MODEL_ID,
  toDemoMessages,
  type ChatCompletionRequest,
} from "@/lib/ai/demo-model/protocol";

export const DEFAULT_BATCH_DELAY_MS = 1_000;
export const DEFAULT_BATCH_ROWS_PER_SECOND = 50;
export const DEFAULT_BATCH_WINDOW_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_BATCH_MAX_STORED_BYTES = 2 * 1024 * 1024 * 1024;
/**
 * CPU time one turn of the event loop may spend answering rows before it
 * yields: the demo model serves live streams from the same thread.
 */
const TURN_BUDGET_MS = 10;

export interface DemoBatchOptions {
  /** Time a batch spends validating, and again finalizing (or cancelling). */
  delayMs?: number;
  /** Rows answered per second while in progress; 0 answers them as fast as the CPU allows. */
  rowsPerSecond?: number;
  /** The completion window: a batch still running this long after creation expires. */
  windowMs?: number;
  /** Largest file accepted, in bytes (OpenAI: 200 MB). */
  maxFileBytes?: number;
  /** Most requests in one input file (OpenAI: 50,000). */
  maxRequests?: number;
  /** Total bytes of all stored files; uploads beyond it are refused. */
  maxStoredBytes?: number;
  /** Where file contents go; a fresh temporary directory (removed on stop) by default. */
  dir?: string;
}

interface ParsedRow {
  customId: string;
  request: ChatCompletionRequest;
  messages: DemoMessage[];
}

interface Run {
  state: BatchState;
  /** Aborted on cancel and on stop, to cut the current wait short. */
  wake: AbortController;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const newId = (prefix: string) => `${prefix}${randomBytes(12).toString("hex")}`;

function notFound(what: string, id: string, param: string): HttpError {
  return new HttpError(
    404,
    `No ${what} found with id '${id}'.`,
    "not_found_error",
    "not_found",
    param,
  );
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

/**
 * Result lines of one output or error file, appended to disk after every
 * turn, so a 50,000-row batch never holds its answers in memory.
 */
class ResultSpool {
  private pending: string[] = [];
  lines = 0;

  constructor(
    readonly fileId: string,
    readonly path: string,
  ) {}

  push(line: unknown): void {
    this.pending.push(JSON.stringify(line));
    this.lines += 1;
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const text = this.pending.join("\n") + "\n";
    this.pending = [];
    await appendFile(this.path, text);
  }
}

interface RunResults {
  output: ResultSpool;
  errors: ResultSpool;
}

const yieldTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export class DemoBatches {
  private readonly files = new Map<string, StoredFile>();
  private readonly runs = new Map<string, Run>();
  private readonly stopping = new AbortController();
  private dir: Promise<string> | undefined;
  private storedBytes = 0;
  private readonly delayMs: number;
  private readonly rowsPerSecond: number;
  private readonly windowMs: number;
  readonly maxFileBytes: number;
  private readonly maxRequests: number;
  private readonly maxStoredBytes: number;

  constructor(
    private readonly options: DemoBatchOptions,
    private readonly configuredFaults: readonly FaultDirective[],
    private readonly ledger: FaultLedger,
  ) {
    this.delayMs = options.delayMs ?? DEFAULT_BATCH_DELAY_MS;
    this.rowsPerSecond = options.rowsPerSecond ?? DEFAULT_BATCH_ROWS_PER_SECOND;
    this.windowMs = options.windowMs ?? DEFAULT_BATCH_WINDOW_MS;
    this.maxFileBytes = options.maxFileBytes ?? BATCH_MAX_FILE_BYTES;
    this.maxRequests = options.maxRequests ?? BATCH_MAX_REQUESTS;
    this.maxStoredBytes = options.maxStoredBytes ?? DEFAULT_BATCH_MAX_STORED_BYTES;
  }

  // --- Files

  async createFile(filename: string, purpose: FilePurpose, content: Buffer) {
    if (content.length > this.maxFileBytes) {
      throw new HttpError(
        400,
        `File is ${content.length} bytes; the limit is ${this.maxFileBytes} bytes.`,
        "invalid_request_error",
        "file_too_large",
        "file",
      );
    }
    if (this.storedBytes + content.length > this.maxStoredBytes) {
      throw new HttpError(
        400,
        `The demo model stores at most ${this.maxStoredBytes} bytes of files; delete some (DELETE /v1/files/:id) or restart it.`,
        "invalid_request_error",
        "storage_limit_exceeded",
        "file",
      );
    }
    const file = await this.store(filename, purpose, content);
    return fileObject(file);
  }

  file(id: string) {
    return fileObject(this.storedFile(id));
  }

  async fileContent(id: string): Promise<{ stream: ReadStream; bytes: number }> {
    const file = this.storedFile(id);
    return { stream: createReadStream(await this.pathOf(file.id)), bytes: file.bytes };
  }

  async deleteFile(id: string) {
    const file = this.storedFile(id);
    this.files.delete(id);
    this.storedBytes -= file.bytes;
    await unlink(await this.pathOf(id)).catch(() => {});
    return { id, object: "file" as const, deleted: true };
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
    const input = this.files.get(body.input_file_id);
    if (!input) throw notFound("file", body.input_file_id, "input_file_id");
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
    if (this.dir && !this.options.dir) await rm(await this.dir, { recursive: true, force: true });
  }

  // --- The run of one batch

  private async execute(run: Run, batchFaults: FaultDirective[], deadline: number) {
    const { state } = run;
    const results = await this.spools();
    await sleep(this.delayMs, run.wake.signal);
    if (this.stopping.signal.aborted) return;
    if (cancelRequested(state)) return this.finishCancelled(run, results, []);

    const content = await readFile(await this.pathOf(state.inputFileId), "utf8");
    const { rows, errors, markerFaults } = await this.validate(content, state.endpoint);
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

  /**
   * Checks every line of an input file as OpenAI does before a batch runs:
   * JSON, the request shape, one endpoint, the demo model, unique custom ids,
   * the request limit. Also collects `batch-expire` markers from the rows.
   */
  private async validate(content: string, endpoint: string) {
    const rows: ParsedRow[] = [];
    const errors: BatchLineError[] = [];
    const markerFaults: FaultDirective[] = [];
    const seen = new Set<string>();
    const report = (error: BatchLineError) => {
      if (errors.length < BATCH_MAX_REPORTED_ERRORS) errors.push(error);
    };
    const lines = content.split("\n");
    if (lines.at(-1) === "") lines.pop();
    if (lines.length === 0) {
      report({
        code: "empty_file",
        message: "The input file has no requests.",
        param: null,
        line: null,
      });
    }
    if (lines.length > this.maxRequests) {
      report({
        code: "too_many_requests",
        message: `The input file has ${lines.length} requests; a batch takes at most ${this.maxRequests}.`,
        param: null,
        line: null,
      });
      return { rows, errors, markerFaults };
    }
    let turnStart = performance.now();
    for (const [index, text] of lines.entries()) {
      if (performance.now() - turnStart >= TURN_BUDGET_MS) {
        await yieldTurn();
        turnStart = performance.now();
      }
      const line = index + 1;
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        report({
          code: "invalid_json_line",
          message: `Line ${line} is not valid JSON.`,
          param: null,
          line,
        });
        continue;
      }
      const parsed = batchInputLineSchema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const param = issue?.path.join(".") || null;
        report({
          code: "invalid_request",
          message: `Line ${line}: ${param ? `${param}: ` : ""}${issue?.message ?? "malformed request"}`,
          param,
          line,
        });
        continue;
      }
      const { custom_id: customId, url, body } = parsed.data;
      if (url !== endpoint) {
        report({
          code: "mismatched_endpoint",
          message: `Line ${line} asks for ${url}; this batch's endpoint is ${endpoint}.`,
          param: "url",
          line,
        });
      } else if (body.model !== DEMO_MODEL_ID) {
        report({
          code: "model_not_found",
          message: `Line ${line} asks for model '${body.model}'; this offline demo server serves '${DEMO_MODEL_ID}'.`,
          param: "body.model",
          line,
        });
      } else if (body.stream === true) {
        report({
          code: "invalid_request",
          message: `Line ${line} asks to stream; batch requests cannot stream.`,
          param: "body.stream",
          line,
        });
      } else if (seen.has(customId)) {
        report({
          code: "duplicate_custom_id",
          message: `Line ${line} repeats custom_id '${customId}'; custom ids must be unique in a batch.`,
          param: "custom_id",
          line,
        });
      } else {
        seen.add(customId);
        const messages = toDemoMessages(body);
        try {
          const lastUser = messages.findLast((message) => message.role === "user");
          markerFaults.push(
            ...parseMarkers(lastUser?.content ?? "").faults.filter(
              (fault) => fault.kind === "batch-expire",
            ),
          );
        } catch {
          report({
            code: "invalid_directive",
            message: `Line ${line} has an invalid demo directive.`,
            param: "body.messages",
            line,
          });
          continue;
        }
        rows.push({ customId, request: body, messages });
      }
    }
    return { rows, errors, markerFaults };
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
    for (const [spool, suffix] of [
      [results.output, "output"],
      [results.errors, "error"],
    ] as const) {
      await spool.flush();
      if (spool.lines === 0) continue;
      const { size } = await stat(spool.path);
      this.register(spool.fileId, `${state.id}_${suffix}.jsonl`, "batch_output", size);
      if (suffix === "output") state.outputFileId = spool.fileId;
      else state.errorFileId = spool.fileId;
    }
  }

  // --- Storage

  private async spools(): Promise<RunResults> {
    const [outputId, errorsId] = [newId("file-"), newId("file-")];
    return {
      output: new ResultSpool(outputId, await this.pathOf(outputId)),
      errors: new ResultSpool(errorsId, await this.pathOf(errorsId)),
    };
  }

  private async store(
    filename: string,
    purpose: FilePurpose,
    content: Buffer,
  ): Promise<StoredFile> {
    const id = newId("file-");
    await writeFile(await this.pathOf(id), content);
    return this.register(id, filename, purpose, content.length);
  }

  private register(id: string, filename: string, purpose: FilePurpose, bytes: number): StoredFile {
    const file: StoredFile = { id, filename, purpose, bytes, createdAt: nowSeconds() };
    this.files.set(id, file);
    this.storedBytes += bytes;
    return file;
  }

  private storedFile(id: string): StoredFile {
    const file = this.files.get(id);
    if (!file) throw notFound("file", id, "file_id");
    return file;
  }

  private run(id: string): Run {
    const run = this.runs.get(id);
    if (!run) throw notFound("batch", id, "batch_id");
    return run;
  }

  private async pathOf(id: string): Promise<string> {
    this.dir ??= this.options.dir
      ? Promise.resolve(this.options.dir)
      : mkdtemp(path.join(tmpdir(), "dispatch-demo-batches-"));
    return path.join(await this.dir, id);
  }
}
