/**
 * The demo model's research plan: sub-questions a person would ask on the way
 * to answering the question. It parses the question with compromise (a small
 * rule-based English parser) for its action ("vacuum a table"), the thing the
 * question is about ("PostgreSQL") and asks about each facet of that action:
 * what it means, the question itself, what the subject provides for it, its
 * trade-offs and examples. Questions without an action (no main verb) get
 * facets of their most salient phrase instead.
 */
import nlp from "compromise";

const PRONOUN =
  /^(i|me|my|we|us|our|you|your|it|its|they|them|their|this|that|these|those|what|which|who)$/i;
// Verbs that carry grammar, not the action the question is about.
const AUXILIARY = new Set([
  "do",
  "be",
  "have",
  "get",
  "should",
  "can",
  "could",
  "would",
  "will",
  "may",
  "might",
  "must",
  "shall",
]);

interface Phrase {
  text: string;
  start: number;
  proper: boolean;
  pronoun: boolean;
}

interface ParsedTerm {
  tags?: string[];
}

interface ParsedPhrase {
  text: string;
  offset?: { start: number };
  terms?: ParsedTerm[];
  verb?: { infinitive?: string };
}

const trimPunctuation = (text: string) => text.replace(/[?.!,;:]+$/, "").trim();

function nounPhrases(question: string): Phrase[] {
  const parsed = nlp(question).nouns().json({ offset: true }) as ParsedPhrase[];
  return parsed
    .map((noun) => {
      const text = trimPunctuation(noun.text);
      return {
        text,
        start: noun.offset?.start ?? 0,
        proper: (noun.terms ?? []).some((term) => term.tags?.includes("ProperNoun")),
        pronoun: PRONOUN.test(text),
      };
    })
    .filter((noun) => noun.text.length > 0);
}

function mainVerb(question: string): { infinitive: string; start: number } | undefined {
  const parsed = nlp(question).verbs().json({ offset: true }) as ParsedPhrase[];
  const actions = parsed
    .map((verb) => ({
      // A verb phrase ("pooling affect") counts by its head, the last word.
      infinitive: (verb.verb?.infinitive || verb.text).trim().split(/\s+/).pop()!.toLowerCase(),
      start: verb.offset?.start ?? 0,
    }))
    .filter((verb) => /^[a-z][a-z-]*$/.test(verb.infinitive) && !AUXILIARY.has(verb.infinitive));
  return actions.at(-1);
}

/** Up to `count` sub-questions (at least one), each ending in "?". */
export function planSubQuestions(question: string, count: number, fallbackTopic: string): string[] {
  const cleaned = question.replace(/\s+/g, " ").trim();
  const asked = cleaned.replace(/[?.!]*$/, "?");
  const nouns = nounPhrases(cleaned);
  const named = nouns.filter((noun) => !noun.pronoun);
  const verb = mainVerb(cleaned);
  let object = verb ? nouns.find((noun) => noun.start > verb.start) : undefined;
  // "when should I use them?": the pronoun stands for the question's first common noun.
  if (object?.pronoun) object = named.find((noun) => !noun.proper) ?? named[0];
  const subject = named.find((noun) => noun.proper && noun !== object);
  const within = subject ? ` in ${subject.text}` : "";

  let candidates: string[];
  if (verb) {
    const action = object ? `${verb.infinitive} ${object.text}` : verb.infinitive;
    candidates = [
      `What does it mean to ${action}${within}?`,
      asked,
      subject
        ? `What does ${subject.text} provide to ${action}, and how is it configured?`
        : `Which tools or settings are used to ${action}?`,
      `What are the limitations and trade-offs when you ${action}${within}?`,
      `What examples or recommendations exist for how to ${action}${within}?`,
    ];
  } else {
    const topic = named[0]?.text ?? fallbackTopic;
    candidates = [
      `What is ${topic}, and how does it work?`,
      asked,
      `What are the known problems and limitations of ${topic}?`,
      `What examples or recommendations exist for ${topic}?`,
    ];
  }
  const unique = candidates.filter((candidate, i) => candidates.indexOf(candidate) === i);
  return unique.slice(0, Math.max(1, count));
}
