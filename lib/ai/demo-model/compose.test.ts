import { describe, expect, it } from "vitest";
import {
  composeReply,
  keyPhrases,
  remainderAfter,
  type DemoMessage,
} from "@/lib/ai/demo-model/compose";
import { streamTokens } from "@/lib/ai/demo-model/text";
import {
  answerWithSourcesPrompt,
  continueMessages,
  parseCitations,
  parsePassages,
  parseSubQuestions,
  planSubQuestionsPrompt,
  summarizePrompt,
  type TaskPrompt,
} from "@/lib/ai/prompts";
import type { ModelMessage } from "ai";

/** The messages a provider sends for a prompt: the system prompt first. */
function plain(prompt: TaskPrompt | ModelMessage[]): DemoMessage[] {
  const messages: ModelMessage[] = Array.isArray(prompt)
    ? prompt
    : [{ role: "system", content: prompt.instructions }, ...prompt.messages];
  return messages.map((message) => ({
    role: message.role,
    content:
      typeof message.content === "string" ? message.content : JSON.stringify(message.content),
  }));
}

const DOCUMENT = [
  "Inngest runs each step of a function as a separate HTTP call to your app.",
  "A step's result is stored, so a retried function skips the steps that already finished.",
  "Breakfast was toast with marmalade.",
  "When a step fails, Inngest retries that step with backoff, not the whole function.",
  "Steps that finished keep their stored result across retries of the function.",
].join(" ");

const PASSAGES = [
  {
    title: "Cooking",
    text: "Risotto needs constant stirring. Arborio rice releases starch slowly.",
  },
  {
    title: "Vacuum",
    text: "VACUUM reclaims storage occupied by dead tuples. Dead tuples remain after an update or a delete until vacuum runs.",
  },
  {
    title: "Autovacuum",
    text: "The autovacuum daemon automates VACUUM and ANALYZE commands. It checks for tables with many dead tuples.",
  },
];

describe("summaries", () => {
  it("summarises the document of a summarize prompt with sentences from it", () => {
    const reply = composeReply(plain(summarizePrompt({ text: DOCUMENT, maxSentences: 2 })));
    expect(reply.task).toBe("summarize");
    const sentences = reply.text.split(/(?<=\.) /);
    expect(sentences).toHaveLength(2);
    for (const sentence of sentences) expect(DOCUMENT).toContain(sentence);
    expect(reply.text).not.toContain("marmalade");
  });

  it("understands a plain chat request to summarise pasted text", () => {
    const reply = composeReply([{ role: "user", content: `Summarize this: ${DOCUMENT}` }]);
    expect(reply.task).toBe("summarize");
    expect(reply.text.length).toBeGreaterThan(0);
    expect(DOCUMENT).toContain(reply.text.split(/(?<=\.) /)[0]);
  });

  it("summarises the conversation when nothing is pasted", () => {
    const reply = composeReply([
      { role: "user", content: DOCUMENT },
      { role: "assistant", content: "Noted." },
      { role: "user", content: "Summarize" },
    ]);
    expect(reply.task).toBe("summarize");
    expect(DOCUMENT).toContain(reply.text.split(/(?<=\.) /)[0]);
  });
});

describe("answers with sources", () => {
  const messages = plain(
    answerWithSourcesPrompt({
      question: "What does vacuum do with dead tuples?",
      passages: PASSAGES,
    }),
  );

  it("cites only passages that exist, and draws its sentences from the passages it cites", () => {
    const reply = composeReply(messages);
    expect(reply.task).toBe("answer-with-sources");
    const cited = parseCitations(reply.text);
    expect(cited.length).toBeGreaterThan(0);
    for (const number of cited) expect(number).toBeGreaterThanOrEqual(1);
    for (const number of cited) expect(number).toBeLessThanOrEqual(PASSAGES.length);
    // Each sentence of the answer comes from the passage it cites.
    for (const match of reply.text.matchAll(/([^.[\]]+?) \[(\d+)\]\./g)) {
      expect(PASSAGES[Number(match[2]) - 1]!.text).toContain(match[1]!.trim());
    }
    expect(cited).not.toContain(1);
  });

  it("says so when no passage is relevant", () => {
    const reply = composeReply(
      plain(
        answerWithSourcesPrompt({ question: "Who won the 1998 world cup?", passages: PASSAGES }),
      ),
    );
    expect(parseCitations(reply.text)).toEqual([1, 2, 3]);
    expect(reply.text).toMatch(/do not appear to answer/);
  });

  it("round-trips the passage format", () => {
    const parsed = parsePassages(
      plain(answerWithSourcesPrompt({ question: "q", passages: PASSAGES }))[1]!.content,
    );
    expect([...parsed.keys()]).toEqual([1, 2, 3]);
    expect(parsed.get(2)).toEqual(PASSAGES[1]);
  });
});

describe("plans", () => {
  it("returns the requested number of sub-questions derived from the question", () => {
    const question =
      "How does PgBouncer connection pooling affect prepared statements in PostgreSQL?";
    const reply = composeReply(plain(planSubQuestionsPrompt({ question, count: 4 })));
    expect(reply.task).toBe("plan-sub-questions");
    const subQuestions = parseSubQuestions(reply.text);
    expect(subQuestions).toHaveLength(4);
    expect(new Set(subQuestions).size).toBe(4);
    for (const subQuestion of subQuestions) expect(subQuestion.endsWith("?")).toBe(true);
    const mentions = keyPhrases(question).filter((phrase) => reply.text.includes(phrase));
    expect(mentions.length).toBeGreaterThanOrEqual(2);
  });

  it("asks about the question's action and subject, in sensible English", () => {
    const reply = composeReply(
      plain(
        planSubQuestionsPrompt({
          question: "How does PostgreSQL decide when to vacuum a table?",
          count: 4,
        }),
      ),
    );
    expect(parseSubQuestions(reply.text)).toEqual([
      "What does it mean to vacuum a table in PostgreSQL?",
      "How does PostgreSQL decide when to vacuum a table?",
      "What does PostgreSQL provide to vacuum a table, and how is it configured?",
      "What are the limitations and trade-offs when you vacuum a table in PostgreSQL?",
    ]);
    const pronoun = composeReply(
      plain(
        planSubQuestionsPrompt({
          question: "What are server components in Next.js and when should I use them?",
          count: 1,
        }),
      ),
    );
    expect(parseSubQuestions(pronoun.text)).toEqual([
      "What does it mean to use server components in Next.js?",
    ]);
  });

  it("finds the content phrases of a question", () => {
    expect(keyPhrases("How does PgBouncer connection pooling affect prepared statements?")).toEqual(
      ["PgBouncer connection pooling", "prepared statements"],
    );
  });
});

describe("continue", () => {
  const history: ModelMessage[] = [
    { role: "user", content: "Tell me about streaming and retries [[demo:drop-after=7]]" },
  ];

  it("continues a cut-off answer with exactly the rest of it", () => {
    const full = composeReply(plain(history)).text;
    const tokens = streamTokens(full);
    for (const cut of [1, 7, tokens.length - 1]) {
      const partial = tokens.slice(0, cut).join("");
      const reply = composeReply(plain(continueMessages(history, partial)));
      expect(reply.task).toBe("continue");
      expect(partial + reply.text).toBe(full);
    }
  });

  it("continues a prefilled assistant message the same way", () => {
    const full = composeReply(plain(history)).text;
    const partial = full.slice(0, 50);
    expect(composeReply([...plain(history), { role: "assistant", content: partial }]).text).toBe(
      full.slice(50),
    );
  });

  it("resumes after the partial's last words when it was not the demo model's own", () => {
    expect(
      remainderAfter("One two three. Four five six.", "Something else, then one two three."),
    ).toBe(" Four five six.");
    expect(remainderAfter("Alpha beta.", "Alpha beta.")).toBe("");
  });
});

describe("chat replies", () => {
  it("says it is an offline demo model and how to configure a real one", () => {
    const reply = composeReply([{ role: "user", content: "What is the capital of France?" }]);
    expect(reply.task).toBe("chat");
    expect(reply.text).toMatch(/offline demo model/);
    for (const name of [
      "OPENAI_API_KEY",
      "ANTHROPIC_API_KEY",
      "OPENAI_COMPATIBLE_BASE_URL",
      "AI_MODEL",
    ]) {
      expect(reply.text).toContain(name);
    }
    expect(reply.text).toContain("**France**");
  });

  it("strips demo markers and is deterministic", () => {
    const messages: DemoMessage[] = [
      { role: "user", content: "Explain [[demo:fail-500-times=1]] the kafka consumer lag" },
    ];
    const reply = composeReply(messages);
    expect(reply.text).not.toContain("[[demo");
    expect(composeReply(messages)).toEqual(reply);
  });
});
