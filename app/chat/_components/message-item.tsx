"use client";

import type { ChatUIMessage } from "@/lib/trpc/routers/chat";
import { messageText } from "@/lib/chat/schema";
import { Markdown } from "@/components/markdown";

export function MessageItem({
  message,
  streaming,
  isLast,
  onRetry,
  onContinue,
  actionsDisabled,
}: {
  message: ChatUIMessage;
  streaming: boolean;
  isLast: boolean;
  onRetry: () => void;
  onContinue: () => void;
  actionsDisabled: boolean;
}) {
  const text = messageText(message.parts);
  if (message.role === "user") {
    return (
      <li className="flex justify-end" data-testid="message-user">
        <div className="max-w-[85%] rounded-2xl rounded-br-sm bg-indigo-600 px-4 py-2.5 text-sm whitespace-pre-wrap text-white">
          {text}
        </div>
      </li>
    );
  }

  const info = message.metadata;
  // While this page receives it, it is streaming whatever its first load said.
  const status = streaming ? "streaming" : info?.status;
  const canAct = isLast && !streaming;
  return (
    <li
      data-testid="message-assistant"
      data-status={status ?? "complete"}
      className="flex flex-col gap-2"
    >
      {text ? (
        <div className="text-sm leading-relaxed" data-testid="answer-text">
          <Markdown streaming={streaming}>{text}</Markdown>
        </div>
      ) : streaming ? (
        <p className="text-sm text-zinc-500" aria-live="polite">
          <span className="inline-block animate-pulse">Thinking…</span>
        </p>
      ) : null}

      {status === "interrupted" ? (
        <StatusNote tone="warning" testId="marker-interrupted">
          <strong>Interrupted.</strong> {info?.errorMessage ?? "The answer broke off."} What is
          shown above is all that arrived; nothing was retried behind your back.
        </StatusNote>
      ) : null}
      {status === "stopped" ? (
        <StatusNote tone="neutral" testId="marker-stopped">
          <strong>Stopped.</strong> You stopped this answer; the part written so far is kept.
        </StatusNote>
      ) : null}
      {status === "failed" ? (
        <StatusNote tone="error" testId="marker-failed">
          <strong>No answer.</strong> {info?.errorMessage ?? "The model failed to answer."}
        </StatusNote>
      ) : null}

      {canAct && (status === "interrupted" || status === "stopped" || status === "failed") ? (
        <div className="flex gap-2">
          <button
            type="button"
            onClick={onRetry}
            disabled={actionsDisabled}
            className="rounded-md border border-zinc-300 px-3 py-1.5 text-xs font-medium hover:bg-zinc-100 disabled:opacity-50 dark:border-zinc-700 dark:hover:bg-zinc-800"
          >
            Retry
          </button>
          {status !== "failed" && text ? (
            <button
              type="button"
              onClick={onContinue}
              disabled={actionsDisabled}
              className="rounded-md bg-indigo-600 px-3 py-1.5 text-xs font-medium text-white hover:bg-indigo-500 disabled:opacity-50"
            >
              Continue
            </button>
          ) : null}
        </div>
      ) : null}
    </li>
  );
}

function StatusNote({
  tone,
  testId,
  children,
}: {
  tone: "warning" | "neutral" | "error";
  testId: string;
  children: React.ReactNode;
}) {
  const styles = {
    warning:
      "border-amber-300 bg-amber-50 text-amber-900 dark:border-amber-700 dark:bg-amber-950/50 dark:text-amber-200",
    neutral:
      "border-zinc-300 bg-zinc-50 text-zinc-700 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-300",
    error:
      "border-red-300 bg-red-50 text-red-900 dark:border-red-800 dark:bg-red-950/50 dark:text-red-200",
  }[tone];
  return (
    <p
      role="status"
      data-testid={testId}
      className={`rounded-md border px-3 py-2 text-xs ${styles}`}
    >
      {children}
    </p>
  );
}
