/**
 * Inngest expressions (trigger filters, `if` of cancelOn / waitForEvent,
 * concurrency and idempotency keys) are CEL; they are evaluated with a
 * maintained CEL implementation rather than a hand-written parser.
 */
import { parse } from "@marcbachmann/cel-js";

type Compiled = ReturnType<typeof parse>;
const cache = new Map<string, Compiled>();

function compile(expression: string): Compiled {
  let compiled = cache.get(expression);
  if (!compiled) {
    compiled = parse(expression);
    if (cache.size > 1000) cache.clear();
    cache.set(expression, compiled);
  }
  return compiled;
}

/** CEL yields BigInt for integer literals; JSON and keys want plain values. */
function normalise(value: unknown): unknown {
  if (typeof value === "bigint") return Number(value);
  return value;
}

/**
 * Evaluates an expression against variables such as `event` and `async`.
 * NOTE: a reference to a missing field is an error in CEL; Inngest treats such
 * an expression as not matching, so errors map to `undefined` here.
 */
export function evaluateExpression(expression: string, vars: Record<string, unknown>): unknown {
  try {
    return normalise(compile(expression)(vars));
  } catch {
    return undefined;
  }
}

export function expressionMatches(
  expression: string | null | undefined,
  vars: Record<string, unknown>,
): boolean {
  if (!expression) return true;
  return evaluateExpression(expression, vars) === true;
}

/** A key expression's value as a stable string (`""` when it cannot be evaluated). */
export function evaluateKey(expression: string, vars: Record<string, unknown>): string {
  const value = evaluateExpression(expression, vars);
  if (value === undefined || value === null) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}
