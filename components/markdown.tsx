"use client";

import type { ComponentProps } from "react";
import { defaultComponents, Streamdown, type ExtraProps } from "streamdown";
import { cn } from "@/components/ui/cn";

const DefaultLink = defaultComponents.a as React.ComponentType<ComponentProps<"a"> & ExtraProps>;

/**
 * In-page links (a report's `[n]` citations pointing at `#source-…`) are
 * plain anchors; every other link keeps Streamdown's link-safety prompt.
 */
function Link({ href, children, node: _node, ...props }: ComponentProps<"a"> & ExtraProps) {
  if (href?.startsWith("#")) {
    const label = typeof children === "string" ? children : undefined;
    const citation = label && /^\[(\d{1,3})\]$/.exec(label);
    return (
      <a
        href={href}
        aria-label={citation ? `Source ${citation[1]}` : undefined}
        className="align-super text-xs font-medium text-indigo-600 no-underline hover:underline dark:text-indigo-400"
      >
        {children}
      </a>
    );
  }
  return (
    <DefaultLink href={href} {...props}>
      {children}
    </DefaultLink>
  );
}

/**
 * Model output as Markdown, safely and while it streams: Streamdown closes
 * unfinished syntax as tokens arrive; raw HTML is dropped (skipHtml) and its
 * sanitiser and link hardening keep script and javascript: URLs out.
 */
export function Markdown({
  children,
  streaming,
  className,
}: {
  children: string;
  streaming?: boolean;
  className?: string;
}) {
  return (
    <Streamdown
      skipHtml
      isAnimating={streaming}
      components={{ a: Link }}
      className={cn("prose-dispatch min-w-0 space-y-3 break-words", className)}
    >
      {children}
    </Streamdown>
  );
}
