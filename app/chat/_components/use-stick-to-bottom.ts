"use client";

import { useCallback, useEffect, useRef, useState } from "react";

/**
 * Keeps a scroll container pinned to its bottom while content grows, until
 * the user scrolls up; scrolling back down (or `scrollToBottom`) re-pins it.
 */
export function useStickToBottom<T extends HTMLElement>(dependency: unknown) {
  const ref = useRef<T>(null);
  const [pinned, setPinned] = useState(true);

  const onScroll = useCallback(() => {
    const element = ref.current;
    if (!element) return;
    setPinned(element.scrollHeight - element.scrollTop - element.clientHeight < 48);
  }, []);

  const scrollToBottom = useCallback(() => {
    const element = ref.current;
    if (!element) return;
    element.scrollTop = element.scrollHeight;
    setPinned(true);
  }, []);

  useEffect(() => {
    const element = ref.current;
    if (element && pinned) element.scrollTop = element.scrollHeight;
  }, [dependency, pinned]);

  return { ref, pinned, onScroll, scrollToBottom };
}
