import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { z } from "zod";
import { env } from "@/lib/env";
import { fetchOrNotFound, HydrateClient, trpc } from "@/lib/trpc/server";
import { ChatView } from "../_components/chat-view";

export const metadata: Metadata = { title: "Chat" };

export default async function ConversationPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  if (!z.uuid().safeParse(id).success) notFound();
  // In the cache the client starts from (its title and jobs); `useChat` takes the messages.
  const conversation = await fetchOrNotFound(trpc.chat.byId.queryOptions({ id }));
  return (
    <HydrateClient>
      <ChatView
        key={id}
        conversationId={id}
        initialMessages={conversation.messages}
        initialJobs={conversation.jobs}
        maxChars={env.CHAT_MAX_MESSAGE_CHARS}
        isNew={false}
      />
    </HydrateClient>
  );
}
