/**
 * Reading a batch input file: every line checked as OpenAI checks it before
 * a batch runs, in turns of bounded CPU time so the demo model's live
 * streams keep flowing while a 50,000-line file is read.
 */
import type { DemoMessage } from "@/lib/ai/demo-model/compose";
import { parseMarkers, type FaultDirective } from "@/lib/ai/demo-model/directives";
import {
  BATCH_MAX_REPORTED_ERRORS,
  batchInputLineSchema,
  type BatchLineError,
} from "@/lib/ai/demo-model/batch-protocol";
import {
  DEMO_MODEL_ID,
  toDemoMessages,
  type ChatCompletionRequest,
} from "@/lib/ai/demo-model/protocol";

/**
 * CPU time one turn of the event loop may spend on batch work before it
 * yields: the demo model serves live streams from the same thread.
 */
export const TURN_BUDGET_MS = 10;

export const yieldTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** One valid line of an input file, ready to answer. */
export interface ParsedRow {
  customId: string;
  request: ChatCompletionRequest;
  messages: DemoMessage[];
}

/**
 * Checks every line of an input file as OpenAI does before a batch runs:
 * JSON, the request shape, one endpoint, the demo model, unique custom ids,
 * the request limit. Also collects `batch-expire` markers from the rows.
 */
export async function validateInput(content: string, endpoint: string, maxRequests: number) {
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
  if (lines.length > maxRequests) {
    report({
      code: "too_many_requests",
      message: `The input file has ${lines.length} requests; a batch takes at most ${maxRequests}.`,
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
