/**
 * Model failures as the user should read them: a code and a safe message.
 * Provider details (URLs, bodies) stay in the logs with the correlation id.
 */
import { isConnectionError, statusCodeOf } from "@/lib/chat/retry-policy";
import type { ChatErrorCode } from "@/lib/chat/schema";

export function describeModelError(error: unknown): { code: ChatErrorCode; message: string } {
  if (isConnectionError(error)) {
    return { code: "connection_lost", message: "The connection to the model was lost." };
  }
  const status = statusCodeOf(error);
  if (status === 429) {
    return {
      code: "model_rate_limited",
      message: "The model provider is rate-limiting requests right now. Try again shortly.",
    };
  }
  if (status !== undefined && status >= 500) {
    return { code: "model_unavailable", message: `The model provider failed (HTTP ${status}).` };
  }
  if (status !== undefined) {
    return {
      code: "model_error",
      message: `The model provider refused the request (HTTP ${status}).`,
    };
  }
  return { code: "model_error", message: "The model failed to answer." };
}
