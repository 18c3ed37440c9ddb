import type { ModelMessage } from "ai";
import { describe, expect, it } from "vitest";
import { estimateTokens, trimToContextWindow } from "@/lib/chat/context-window";

const message = (role: "user" | "assistant", chars: number, tag = ""): ModelMessage => ({
  role,
  content: tag + "x".repeat(chars - tag.length),
});

describe("trimToContextWindow", () => {
  it("keeps everything that fits", () => {
    const history = [message("user", 40), message("assistant", 40), message("user", 40)];
    expect(trimToContextWindow(history, 1000)).toEqual({ messages: history, dropped: 0 });
  });

  it("drops the oldest whole messages first and never starts with an orphaned answer", () => {
    const history = [
      message("user", 400, "q1"),
      message("assistant", 400, "a1"),
      message("user", 400, "q2"),
      message("assistant", 400, "a2"),
      message("user", 400, "q3"),
    ];
    const budget = estimateTokens(history[0]!) * 2 + 1;
    const { messages, dropped } = trimToContextWindow(history, budget);
    expect(messages.map((m) => (m.content as string).slice(0, 2))).toEqual(["q3"]);
    expect(dropped).toBe(4);
  });

  it("always keeps the latest message, even when it alone exceeds the budget", () => {
    const history = [
      message("user", 100),
      message("assistant", 100),
      message("user", 10_000, "last"),
    ];
    const { messages } = trimToContextWindow(history, 10);
    expect(messages).toHaveLength(1);
    expect((messages[0]!.content as string).startsWith("last")).toBe(true);
  });
});
