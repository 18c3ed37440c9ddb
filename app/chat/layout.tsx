import { Suspense } from "react";
import { HydrateClient, prefetch, trpc } from "@/lib/trpc/server";
import { ConversationList } from "./_components/conversation-list";

export default function ChatLayout({ children }: { children: React.ReactNode }) {
  prefetch(trpc.chat.list.queryOptions());
  prefetch(trpc.chat.model.queryOptions());
  return (
    <HydrateClient>
      <div className="flex h-[calc(100dvh-3.5rem)] min-h-0">
        <aside className="hidden w-64 shrink-0 flex-col border-r border-zinc-200 bg-zinc-50 md:flex dark:border-zinc-800 dark:bg-zinc-900/40">
          <Suspense fallback={<p className="p-4 text-sm text-zinc-500">Loading conversations…</p>}>
            <ConversationList />
          </Suspense>
        </aside>
        <div className="flex min-w-0 flex-1 flex-col">
          <details className="border-b border-zinc-200 md:hidden dark:border-zinc-800">
            <summary className="cursor-pointer px-4 py-2 text-sm font-medium">
              Conversations
            </summary>
            <div className="flex max-h-[50dvh] flex-col">
              <Suspense fallback={null}>
                <ConversationList />
              </Suspense>
            </div>
          </details>
          {children}
        </div>
      </div>
    </HydrateClient>
  );
}
