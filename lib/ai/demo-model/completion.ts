/**
 * One chat completion request answered, whatever carries it: the live
 * endpoint streams or returns the result, the Batch API writes it to an
 * output file. Both read directives and compose the reply here, so a batch
 * row gets exactly the answer and the usage the live endpoint would give.
 */
import { composeReply, type DemoMessage, type DemoTask } from "@/lib/ai/demo-model/compose";
import {
  DirectiveError,
  emptyDirectives,
  parseDirectiveList,
  parseMarkers,
  type Directives,
  type FaultDirective,
} from "@/lib/ai/demo-model/directives";
import { HttpError } from "@/lib/ai/demo-model/http";
import {
  DEMO_MODEL_ID,
  type ChatCompletionRequest,
  type FinishReason,
  type Usage,
} from "@/lib/ai/demo-model/protocol";
import { fillSchema } from "@/lib/ai/demo-model/structured";
import { countTokens, streamTokens } from "@/lib/ai/demo-model/text";

export interface CompletionPlan {
  task: DemoTask;
  /** The reply as the tokens the server streams; joined, the whole text. */
  tokens: string[];
  finishReason: FinishReason;
  usage: Usage;
}

/**
 * The directives of one request: the server's configured ones, then the
 * markers of the last user message, then the `x-demo-fault` header list.
 */
export function requestDirectives(
  configured: readonly FaultDirective[],
  messages: readonly DemoMessage[],
  headerList?: string,
): Directives {
  const directives: Directives = emptyDirectives();
  directives.faults.push(...configured);
  try {
    const lastUser = messages.findLast((message) => message.role === "user");
    parseMarkers(lastUser?.content ?? "", directives);
    parseDirectiveList(headerList, directives);
  } catch (error) {
    if (error instanceof DirectiveError) {
      throw new HttpError(
        400,
        `Invalid demo directive: ${error.message}`,
        "invalid_request_error",
        "invalid_directive",
      );
    }
    throw error;
  }
  return directives;
}

/** The deterministic reply to `request`, cut at its token limit, with its usage. */
export function planCompletion(
  request: ChatCompletionRequest,
  messages: readonly DemoMessage[],
): CompletionPlan {
  const reply = composeReply(messages);
  const format = request.response_format;
  const text =
    format?.type === "json_schema"
      ? JSON.stringify(fillSchema(format.json_schema?.schema, reply.text))
      : format?.type === "json_object"
        ? JSON.stringify({ text: reply.text })
        : reply.text;
  let tokens = streamTokens(text);
  let finishReason: FinishReason = "stop";
  const limit = request.max_completion_tokens ?? request.max_tokens;
  if (limit && tokens.length > limit) {
    tokens = tokens.slice(0, limit);
    finishReason = "length";
  }
  const promptTokens = messages.reduce((sum, message) => sum + countTokens(message.content), 0);
  return {
    task: reply.task,
    tokens,
    finishReason,
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: tokens.length,
      total_tokens: promptTokens + tokens.length,
    },
  };
}

/** The injected error a fired `fail-429` or `fail-500` directive answers with, if any. */
export function injectedFailure(faults: readonly FaultDirective[]): HttpError | undefined {
  const failure = faults.find((fault) => fault.kind === "fail-429" || fault.kind === "fail-500");
  if (failure?.kind === "fail-429") {
    return new HttpError(
      429,
      "Rate limit reached (injected by the demo model).",
      "rate_limit_error",
      "rate_limit_exceeded",
    ).withRetryAfter(failure.retryAfterSeconds);
  }
  if (failure?.kind === "fail-500") {
    return new HttpError(
      500,
      "The server had an error (injected by the demo model).",
      "server_error",
      "server_error",
    );
  }
  return undefined;
}

export function unknownModel(model: string): HttpError {
  return new HttpError(
    404,
    `The model \`${model}\` does not exist. This offline demo server serves \`${DEMO_MODEL_ID}\`.`,
    "invalid_request_error",
    "model_not_found",
    "model",
  );
}
