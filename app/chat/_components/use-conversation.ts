"use client";

/**
 * One conversation in the browser: the transport, `useChat`, following an
 * answer being written elsewhere (a reload, another tab, another instance),
 * reconnecting after a network drop, the server's record when a turn is
 * refused, and Stop. `useChat`'s messages are the one copy the page shows:
 * each answer's status and error arrive in its metadata (the stored row on
 * first load, the terminal `finish` chunk while streaming).
 */
import { useChat } from "@ai-sdk/react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo, useRef, useState } from "react";
import { messageText } from "@/lib/chat/schema";
import { useTRPC } from "@/lib/trpc/client";
import type { ChatUIMessage } from "@/lib/trpc/routers/chat";
import { AnswerLogTransport } from "./answer-log-transport";

/** Reconnect attempts back off to this, and go on until the server answers. */
const MAX_RECONNECT_DELAY_MS = 4_000;

/** The JSON error of a refused request, or null for anything else (a dropped connection). */
function refusal(error: Error | undefined): { code: string; message: string } | null {
  if (!error) return null;
  try {
    const parsed = JSON.parse(error.message) as { error?: { code?: string; message?: string } };
    if (parsed.error?.code && parsed.error.message)
      return { code: parsed.error.code, message: parsed.error.message };
  } catch {
    // Not JSON: not a refusal.
  }
  return null;
}

const hasEnded = (message: ChatUIMessage) => {
  const status = message.metadata?.status;
  return status !== undefined && status !== "streaming";
};

/** The fetch of a stream failed or broke off: the network, not the server's answer. */
const isNetworkError = (error: Error) => error instanceof TypeError;

export function useConversation({
  conversationId,
  initialMessages,
  initialJobs,
  isNew,
}: {
  conversationId: string;
  initialMessages: ChatUIMessage[];
  initialJobs: Array<{ id: string; afterMessageId: string | null }>;
  isNew: boolean;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [started, setStarted] = useState(!isNew);
  const [input, setInput] = useState("");
  const [notice, setNotice] = useState<string | null>(null);
  const [reconnecting, setReconnecting] = useState(false);
  const reconnect = useRef<{ attempt: number; timer?: ReturnType<typeof setTimeout> }>({
    attempt: 0,
  });
  const transport = useMemo(() => new AnswerLogTransport(conversationId), [conversationId]);

  // The conversation's title and jobs; its messages are useChat's.
  const record = useQuery(
    trpc.chat.byId.queryOptions(
      { id: conversationId },
      {
        enabled: started,
        initialData: isNew
          ? undefined
          : { id: conversationId, title: "", messages: initialMessages, jobs: initialJobs },
      },
    ),
  );

  const chat = useChat<ChatUIMessage>({
    id: conversationId,
    messages: initialMessages,
    transport,
    // An answer still being written (a reload, a second tab): follow it from its log.
    resume: initialMessages.at(-1)?.metadata?.status === "streaming",
    onError: (error) => {
      if (isNetworkError(error) && reconnect.current.attempt > 0) return scheduleReconnect();
      const refused = refusal(error);
      if (!refused) return;
      // The server refused the turn and stored nothing: the text goes back in the composer.
      setNotice(refused.message);
      chat.setMessages((messages) => {
        const last = messages.at(-1);
        if (last?.role !== "user") return messages;
        setInput((current) => current || messageText(last.parts));
        return messages.slice(0, -1);
      });
      // Another tab may have changed the conversation: show what is stored now.
      if (refused.code === "busy") void syncWithServer();
    },
    onFinish: ({ message, isAbort, isDisconnect, isError }) => {
      // Every answer the server sends ends with a terminal status; a stream
      // that ended without one was cut (a dead server can close it cleanly).
      const cut = !isAbort && !isError && message.role === "assistant" && !hasEnded(message);
      transport.setDisconnected(isDisconnect || cut);
      if (isDisconnect || cut) return scheduleReconnect();
      clearTimeout(reconnect.current.timer);
      reconnect.current.attempt = 0;
      setReconnecting(false);
      void queryClient.invalidateQueries({ queryKey: trpc.chat.list.queryKey() });
    },
  });

  /** Resumes after a network drop, backing off while the server cannot be reached. */
  function scheduleReconnect() {
    const { attempt } = reconnect.current;
    reconnect.current.attempt = attempt + 1;
    setReconnecting(true);
    clearTimeout(reconnect.current.timer);
    reconnect.current.timer = setTimeout(
      () => void chat.resumeStream(),
      Math.min(MAX_RECONNECT_DELAY_MS, 250 * 2 ** attempt),
    );
  }

  /** Replaces the messages with the stored ones, and follows an answer being written. */
  async function syncWithServer() {
    const fresh = await queryClient
      .fetchQuery({ ...trpc.chat.byId.queryOptions({ id: conversationId }), staleTime: 0 })
      // Deleted in another tab, or the server cannot be reached: nothing to show instead.
      .catch(() => null);
    if (!fresh) return;
    transport.setDisconnected(false);
    chat.setMessages(fresh.messages);
    if (fresh.messages.at(-1)?.metadata?.status === "streaming") void chat.resumeStream();
  }

  const stopMutation = useMutation(
    trpc.chat.stop.mutationOptions({
      onSuccess: ({ stopped }) => {
        if (!stopped) setNotice("There is no answer being written to stop.");
      },
    }),
  );

  /** The first message or job makes a new chat a conversation with its own URL. */
  function markStarted() {
    if (started) return;
    setStarted(true);
    window.history.replaceState(null, "", `/chat/${conversationId}`);
  }

  const busy = chat.status === "submitted" || chat.status === "streaming";
  const streamError =
    chat.status === "error" && chat.error && !refusal(chat.error) && !reconnecting
      ? chat.error.message
      : null;

  return {
    messages: chat.messages,
    status: chat.status,
    busy,
    reconnecting,
    title: record.data?.title,
    jobs: record.data?.jobs ?? initialJobs,
    input,
    setInput,
    notice: notice ?? (reconnecting ? "Connection lost. Reconnecting…" : streamError),
    setNotice,
    markStarted,
    send(text: string) {
      setNotice(null);
      markStarted();
      setInput("");
      void chat.sendMessage({ text });
    },
    retry() {
      setNotice(null);
      void chat.regenerate();
    },
    continueAnswer() {
      setNotice(null);
      void chat.sendMessage(undefined, { body: { action: "continue" } });
    },
    /** Stops the answer on the server, whichever tab or instance writes it. */
    stop() {
      stopMutation.mutate({ id: conversationId });
    },
    stopping: stopMutation.isPending,
  };
}
