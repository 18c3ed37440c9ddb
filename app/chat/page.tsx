import type { Metadata } from "next";
import { randomUUID } from "node:crypto";
import { env } from "@/lib/env";
import { ChatView } from "./_components/chat-view";

export const metadata: Metadata = { title: "Chat" };
export const dynamic = "force-dynamic";

export default function NewChatPage() {
  const id = randomUUID();
  return (
    <ChatView
      key={id}
      conversationId={id}
      initialMessages={[]}
      initialJobs={[]}
      maxChars={env.CHAT_MAX_MESSAGE_CHARS}
      isNew
    />
  );
}
