"use client";

import { useChat } from "@ai-sdk/react";
import { useMutation, useQuery, useQueryClient, useSuspenseQuery } from "@tanstack/react-query";
import { DefaultChatTransport, type UIMessage } from "ai";
import { Fragment, Suspense, useEffect, useMemo, useRef, useState } from "react";
import type { ChatMetadata } from "@/lib/chat/schema";
import { historyForSpeculation, messageText } from "@/lib/chat/schema";
import { useTRPC } from "@/lib/trpc/client";
import type { ChatUIMessage } from "@/lib/trpc/routers/chat";
import { ChatJobCards, JobShortcuts } from "./chat-jobs";
import { Composer } from "./composer";
import { jobInputFor, parseJobCommand, type JobCommand } from "./job-command";
import { useChatJobs } from "./use-chat-jobs";
import { MessageItem, type MessageStatusInfo } from "./message-item";
import { useStickToBottom } from "./use-stick-to-bottom";

type Message = UIMessage<ChatMetadata>;
type ContinueBody = { action?: "continue" };

/** The JSON error of a refused request, or null for an error inside a stream. */
function requestError(error: Error | undefined): { code: string; message: string } | null {
  if (!error) return null;
  try {
    const parsed = JSON.parse(error.message) as { error?: { code?: string; message?: string } };
    if (parsed.error?.code && parsed.error.message)
      return { code: parsed.error.code, message: parsed.error.message };
  } catch {
    // Not JSON: a stream error, already described by the message's status.
  }
  return null;
}

function toChatMessages(messages: ChatUIMessage[]): Message[] {
  return messages.map(({ id, role, parts, metadata }) => ({ id, role, parts, metadata }));
}

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
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [started, setStarted] = useState(!isNew);
  const [input, setInput] = useState("");
  const [notice, setNotice] = useState<string | null>(null);

  const transport = useMemo(
    () =>
      new DefaultChatTransport<Message>({
        api: "/api/chat",
        prepareSendMessagesRequest: ({ messages, trigger, body }) => {
          if (trigger === "regenerate-message")
            return { body: { action: "regenerate", conversationId } };
          if ((body as ContinueBody | undefined)?.action === "continue") {
            return { body: { action: "continue", conversationId } };
          }
          const last = messages.at(-1)!;
          return {
            body: {
              action: "submit",
              conversationId,
              message: { id: last.id, role: "user", parts: last.parts },
              history: historyForSpeculation(messages.slice(0, -1)),
            },
          };
        },
      }),
    [conversationId],
  );

  const chat = useChat<Message>({
    id: conversationId,
    messages: toChatMessages(initialMessages),
    transport,
    onError: (error) => {
      const refused = requestError(error);
      if (!refused) return;
      // The server refused the request and stored nothing: put the text back.
      setNotice(refused.message);
      chat.setMessages((messages) => {
        const last = messages.at(-1);
        if (last?.role === "user") {
          setInput((current) => current || messageText(last.parts));
          return messages.slice(0, -1);
        }
        return messages;
      });
    },
  });
  const server = useQuery(
    trpc.chat.byId.queryOptions(
      { id: conversationId },
      {
        enabled: started,
        initialData: isNew
          ? undefined
          : { id: conversationId, title: "", messages: initialMessages, jobs: initialJobs },
        // An answer still being written by the server (e.g. after a reload): follow it.
        refetchInterval: (query) =>
          query.state.data?.messages.at(-1)?.metadata?.status === "streaming" &&
          chat.status === "ready"
            ? 1000
            : false,
      },
    ),
  );
  const busy = chat.status === "submitted" || chat.status === "streaming";

  // When a stream ends, the server's record (statuses, errors) becomes the truth.
  const wasBusy = useRef(false);
  useEffect(() => {
    if (busy) {
      wasBusy.current = true;
      return;
    }
    if (wasBusy.current) {
      wasBusy.current = false;
      void queryClient.invalidateQueries({
        queryKey: trpc.chat.byId.queryKey({ id: conversationId }),
      });
      void queryClient.invalidateQueries({ queryKey: trpc.chat.list.queryKey() });
    }
  }, [busy, conversationId, queryClient, trpc]);

  const { setMessages } = chat;
  useEffect(() => {
    if (!server.data || busy) return;
    setMessages(toChatMessages(server.data.messages));
    // Only fresh server data replaces the messages, not a change of `busy`.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [server.data, setMessages]);

  const info = useMemo(() => {
    const map = new Map<string, MessageStatusInfo>();
    for (const message of server.data?.messages ?? []) {
      map.set(message.id, {
        status: message.metadata?.status,
        errorCode: message.errorCode,
        errorMessage: message.errorMessage,
      });
    }
    return map;
  }, [server.data]);

  const stop = useMutation(
    trpc.chat.stop.mutationOptions({
      onSuccess: ({ stopped }) => {
        if (!stopped)
          setNotice(
            "This answer is being written by another server instance and could not be stopped from here.",
          );
      },
    }),
  );

  const {
    ref: scrollRef,
    pinned,
    onScroll,
    scrollToBottom,
  } = useStickToBottom<HTMLDivElement>(chat.messages);

  const chatJobs = useChatJobs(conversationId, server.data?.jobs ?? initialJobs);
  /** The first message or job makes a new chat a conversation with its own URL. */
  function markStarted() {
    if (started) return;
    setStarted(true);
    window.history.replaceState(null, "", `/chat/${conversationId}`);
  }
  function startJob(command: JobCommand) {
    setNotice(null);
    if (!command.ok) return setNotice(command.message);
    markStarted();
    chatJobs.start(command.input, chat.messages.at(-1)?.id ?? null).then(
      () => setInput(""),
      (error: Error) => setNotice(error.message),
    );
  }
  const placed = new Set(chat.messages.map((message) => message.id));

  function send() {
    const text = input.trim();
    if (!text) return;
    const command = parseJobCommand(text);
    if (command) return startJob(command);
    setNotice(null);
    markStarted();
    setInput("");
    void chat.sendMessage({ text });
  }

  const lastIndex = chat.messages.length - 1;
  const serverStreaming = !busy && info.get(chat.messages.at(-1)?.id ?? "")?.status === "streaming";
  const streamError = chat.error && !requestError(chat.error) ? chat.error.message : null;

  return (
    <div className="flex min-h-0 flex-1 flex-col">
      <div className="flex items-center justify-between border-b border-zinc-200 px-4 py-2 text-xs text-zinc-500 dark:border-zinc-800">
        <span className="truncate">{server.data?.title || "New chat"}</span>
        <Suspense fallback={null}>
          <ModelLabel />
        </Suspense>
      </div>

      <div ref={scrollRef} onScroll={onScroll} className="relative min-h-0 flex-1 overflow-y-auto">
        {chat.messages.length === 0 && chatJobs.jobs.length === 0 ? (
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
            {chat.messages.map((message, index) => (
              <Fragment key={message.id}>
                <MessageItem
                  message={message}
                  info={info.get(message.id)}
                  streaming={
                    (busy || serverStreaming) && index === lastIndex && message.role === "assistant"
                  }
                  isLast={index === lastIndex}
                  actionsDisabled={busy}
                  onRetry={() => {
                    setNotice(null);
                    void chat.regenerate();
                  }}
                  onContinue={() => {
                    setNotice(null);
                    void chat.sendMessage(undefined, { body: { action: "continue" } });
                  }}
                />
                <ChatJobCards
                  jobs={chatJobs.jobs.filter((job) => job.afterMessageId === message.id)}
                />
              </Fragment>
            ))}
            {chat.status === "submitted" && chat.messages.at(-1)?.role === "user" ? (
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

      {notice || streamError ? (
        <div
          role="alert"
          data-testid="chat-error"
          className="mx-auto w-full max-w-3xl px-4 pb-2 text-sm text-red-700 dark:text-red-300"
        >
          {notice ?? streamError}
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
        onStop={() => stop.mutate({ id: conversationId })}
        busy={busy}
        stopping={stop.isPending}
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
