"use client";

import { Streamdown } from "streamdown";
import { cn } from "@/components/ui/cn";

/**
 * Model output as Markdown, safely and while it streams: Streamdown closes
 * unfinished syntax as tokens arrive; raw HTML is dropped (skipHtml) and its
 * sanitiser and link hardening keep script and javascript: URLs out.
 */
export function Markdown({ children, streaming, className }: { children: string; streaming?: boolean; className?: string }) {
  return (
    <Streamdown
      skipHtml
      isAnimating={streaming}
      className={cn("prose-dispatch min-w-0 space-y-3 break-words", className)}
    >
      {children}
    </Streamdown>
  );
}
