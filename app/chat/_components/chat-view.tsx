"use client";

import { useSuspenseQuery } from "@tanstack/react-query";
import { Fragment, Suspense } from "react";
import { useTRPC } from "@/lib/trpc/client";
import type { ChatUIMessage } from "@/lib/trpc/routers/chat";
import { ChatJobCards, JobShortcuts } from "./chat-jobs";
import { Composer } from "./composer";
import { jobInputFor, parseJobCommand, type JobCommand } from "./job-command";
import { MessageItem } from "./message-item";
import { useChatJobs } from "./use-chat-jobs";
import { useConversation } from "./use-conversation";
import { useStickToBottom } from "./use-stick-to-bottom";

export function ChatView({
  conversationId,
  initialMessages,
  initialJobs,
  maxChars,
  isNew,
}: {
  conversationId: string;
  initialMessages: ChatUIMessage[];
  initialJobs: Array<{ id: string; afterMessageId: string | null }>;
  maxChars: number;
  isNew: boolean;
}) {
  const conversation = useConversation({ conversationId, initialMessages, initialJobs, isNew });
  const { messages, busy, input, setInput, setNotice } = conversation;
  const {
    ref: scrollRef,
    pinned,
    onScroll,
    scrollToBottom,
  } = useStickToBottom<HTMLDivElement>(messages);
  const chatJobs = useChatJobs(conversationId, conversation.jobs);

  function startJob(command: JobCommand) {
    setNotice(null);
    if (!command.ok) return setNotice(command.message);
    conversation.markStarted();
    chatJobs.start(command.input, messages.at(-1)?.id ?? null).then(
      () => setInput(""),
      (error: Error) => setNotice(error.message),
    );
  }

  function send() {
    const text = input.trim();
    if (!text) return;
    const command = parseJobCommand(text);
    if (command) return startJob(command);
    conversation.send(text);
  }

  const placed = new Set(messages.map((message) => message.id));
  const lastIndex = messages.length - 1;

  return (
    <div className="flex min-h-0 flex-1 flex-col">
      <div className="flex items-center justify-between border-b border-zinc-200 px-4 py-2 text-xs text-zinc-500 dark:border-zinc-800">
        <span className="truncate">{conversation.title || "New chat"}</span>
        <Suspense fallback={null}>
          <ModelLabel />
        </Suspense>
      </div>

      <div ref={scrollRef} onScroll={onScroll} className="relative min-h-0 flex-1 overflow-y-auto">
        {messages.length === 0 && chatJobs.jobs.length === 0 ? (
          <EmptyState onPick={(text) => setInput(text)} />
        ) : (
          <ol
            aria-label="Conversation"
            className="mx-auto flex max-w-3xl flex-col gap-6 px-4 py-6"
            aria-live="polite"
          >
            <ChatJobCards
              jobs={chatJobs.jobs.filter((job) => !placed.has(job.afterMessageId ?? ""))}
            />
            {messages.map((message, index) => (
              <Fragment key={message.id}>
                <MessageItem
                  message={message}
                  streaming={
                    index === lastIndex &&
                    message.role === "assistant" &&
                    (busy || conversation.reconnecting)
                  }
                  isLast={index === lastIndex}
                  actionsDisabled={busy}
                  onRetry={conversation.retry}
                  onContinue={conversation.continueAnswer}
                />
                <ChatJobCards
                  jobs={chatJobs.jobs.filter((job) => job.afterMessageId === message.id)}
                />
              </Fragment>
            ))}
            {conversation.status === "submitted" && messages.at(-1)?.role === "user" ? (
              <li className="text-sm text-zinc-500" aria-live="polite">
                <span className="inline-block animate-pulse">Thinking…</span>
              </li>
            ) : null}
          </ol>
        )}
        {!pinned && busy ? (
          <button
            type="button"
            onClick={scrollToBottom}
            className="sticky bottom-3 left-1/2 -translate-x-1/2 rounded-full bg-zinc-900 px-3 py-1.5 text-xs text-white shadow dark:bg-zinc-100 dark:text-zinc-900"
          >
            Jump to latest ↓
          </button>
        ) : null}
      </div>

      {conversation.notice ? (
        <div
          role="alert"
          data-testid="chat-error"
          className="mx-auto w-full max-w-3xl px-4 pb-2 text-sm text-red-700 dark:text-red-300"
        >
          {conversation.notice}
        </div>
      ) : null}

      <JobShortcuts
        disabled={!input.trim() || busy || chatJobs.starting}
        onStart={(kind) => startJob(jobInputFor(kind, input))}
      />
      <Composer
        value={input}
        onChange={setInput}
        onSubmit={send}
        onStop={conversation.stop}
        busy={busy}
        stopping={conversation.stopping}
        maxChars={maxChars}
      />
    </div>
  );
}

const SUGGESTIONS = [
  "What makes a streaming answer trustworthy?",
  "Explain retries with exponential backoff and jitter.",
  "Write a haiku about background jobs.",
];

function ModelLabel() {
  const trpc = useTRPC();
  const { data } = useSuspenseQuery(trpc.chat.model.queryOptions());
  return (
    <span
      data-testid="model-label"
      title={data.isDemo ? "Configure a real provider in .env" : undefined}
    >
      {data.label}
    </span>
  );
}

function EmptyState({ onPick }: { onPick: (text: string) => void }) {
  return (
    <div className="mx-auto flex max-w-xl flex-col items-center px-4 py-16 text-center">
      <h2 className="text-xl font-semibold">Start a conversation</h2>
      <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-400">
        Answers stream as they are written. Stop them at any time; if a stream breaks, you keep what
        arrived and choose to retry or continue.
      </p>
      <ul className="mt-6 flex w-full flex-col gap-2">
        {SUGGESTIONS.map((suggestion) => (
          <li key={suggestion}>
            <button
              type="button"
              onClick={() => onPick(suggestion)}
              className="w-full rounded-lg border border-zinc-200 px-4 py-2 text-left text-sm hover:border-indigo-400 dark:border-zinc-800 dark:hover:border-indigo-500"
            >
              {suggestion}
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
