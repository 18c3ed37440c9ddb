"use client";

import { useMutation, useQueryClient, useSuspenseQuery } from "@tanstack/react-query";
import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { useState } from "react";
import { cn } from "@/components/ui/cn";
import { useTRPC } from "@/lib/trpc/client";

export function ConversationList() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const pathname = usePathname();
  const router = useRouter();
  const conversations = useSuspenseQuery(trpc.chat.list.queryOptions());
  const [editing, setEditing] = useState<string | null>(null);
  const [draft, setDraft] = useState("");
  const invalidate = () => queryClient.invalidateQueries({ queryKey: trpc.chat.list.queryKey() });

  const rename = useMutation(trpc.chat.rename.mutationOptions({ onSuccess: invalidate }));
  const remove = useMutation(
    trpc.chat.delete.mutationOptions({
      onSuccess: async ({ id }) => {
        await invalidate();
        if (pathname === `/chat/${id}`) router.push("/chat");
      },
    }),
  );

  return (
    <nav aria-label="Conversations" className="flex min-h-0 flex-1 flex-col">
      <div className="p-3">
        <Link
          href="/chat"
          className="block rounded-lg bg-indigo-600 px-3 py-2 text-center text-sm font-medium text-white hover:bg-indigo-500"
        >
          New chat
        </Link>
      </div>
      <ul className="min-h-0 flex-1 space-y-0.5 overflow-y-auto px-2 pb-3">
        {conversations.data.length === 0 ? (
          <li className="px-2 py-1 text-sm text-zinc-500">No conversations yet.</li>
        ) : null}
        {conversations.data.map((conversation) => {
          const href = `/chat/${conversation.id}` as const;
          const active = pathname === href;
          if (editing === conversation.id) {
            return (
              <li key={conversation.id}>
                <form
                  onSubmit={(event) => {
                    event.preventDefault();
                    if (draft.trim()) rename.mutate({ id: conversation.id, title: draft.trim() });
                    setEditing(null);
                  }}
                >
                  <label className="sr-only" htmlFor={`rename-${conversation.id}`}>
                    New title
                  </label>
                  <input
                    id={`rename-${conversation.id}`}
                    autoFocus
                    value={draft}
                    maxLength={200}
                    onChange={(event) => setDraft(event.target.value)}
                    onKeyDown={(event) => event.key === "Escape" && setEditing(null)}
                    onBlur={() => setEditing(null)}
                    className="w-full rounded-md border border-indigo-400 bg-white px-2 py-1.5 text-sm dark:bg-zinc-900"
                  />
                </form>
              </li>
            );
          }
          return (
            <li key={conversation.id} className="group flex items-center">
              <Link
                href={href}
                aria-current={active ? "page" : undefined}
                className={cn(
                  "min-w-0 flex-1 truncate rounded-md px-2 py-1.5 text-sm",
                  active
                    ? "bg-zinc-200 dark:bg-zinc-800"
                    : "hover:bg-zinc-100 dark:hover:bg-zinc-900",
                )}
              >
                {conversation.title}
              </Link>
              <div className="flex opacity-0 group-focus-within:opacity-100 group-hover:opacity-100">
                <button
                  type="button"
                  aria-label={`Rename “${conversation.title}”`}
                  onClick={() => {
                    setDraft(conversation.title);
                    setEditing(conversation.id);
                  }}
                  className="rounded p-1 text-zinc-500 hover:text-zinc-900 dark:hover:text-white"
                >
                  <svg
                    aria-hidden="true"
                    viewBox="0 0 20 20"
                    className="size-4"
                    fill="currentColor"
                  >
                    <path d="M13.6 3.6a2 2 0 0 1 2.8 2.8l-8.5 8.5-3.6.8.8-3.6 8.5-8.5Z" />
                  </svg>
                </button>
                <button
                  type="button"
                  aria-label={`Delete “${conversation.title}”`}
                  onClick={() => {
                    if (window.confirm(`Delete “${conversation.title}”? This cannot be undone.`)) {
                      remove.mutate({ id: conversation.id });
                    }
                  }}
                  className="rounded p-1 text-zinc-500 hover:text-red-600"
                >
                  <svg
                    aria-hidden="true"
                    viewBox="0 0 20 20"
                    className="size-4"
                    fill="currentColor"
                  >
                    <path d="M8 2h4a1 1 0 0 1 1 1v1h4v2H3V4h4V3a1 1 0 0 1 1-1Zm-3 6h10l-.8 9a1 1 0 0 1-1 1H6.8a1 1 0 0 1-1-1L5 8Z" />
                  </svg>
                </button>
              </div>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
