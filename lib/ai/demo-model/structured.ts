/**
 * Structured output for the demo model: when a request asks for
 * `response_format: json_schema` (the AI SDK's `Output.object`,
 * `generateObject`), the reply is poured into the schema so the result
 * validates: list items fill arrays, the reply's text fills strings, and
 * numbers, booleans and enums take the smallest valid value.
 */
import { parseCitations, parseSubQuestions } from "@/lib/ai/prompts";
import { splitSentences } from "@/lib/ai/demo-model/text";

type Schema = Record<string, unknown>;

interface Context {
  text: string;
  root: Schema;
  depth: number;
}

const MAX_DEPTH = 8;

function isSchema(value: unknown): value is Schema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function resolveRef(schema: Schema, root: Schema): Schema {
  const ref = schema.$ref;
  if (typeof ref !== "string" || !ref.startsWith("#/")) return schema;
  let target: unknown = root;
  for (const key of ref.slice(2).split("/")) target = isSchema(target) ? target[key] : undefined;
  return isSchema(target) ? target : {};
}

/** The pieces of a reply that fill an array: list items, else sentences. */
function listItems(text: string): string[] {
  const items = parseSubQuestions(text);
  return items.length > 0 ? items : splitSentences(text);
}

function fill(raw: unknown, context: Context): unknown {
  if (!isSchema(raw) || context.depth > MAX_DEPTH) return null;
  const schema = resolveRef(raw, context.root);
  const inner = { ...context, depth: context.depth + 1 };
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  for (const key of ["anyOf", "oneOf"] as const) {
    const options = schema[key];
    if (Array.isArray(options)) {
      const option = options.find((o) => isSchema(o) && o.type !== "null") ?? options[0];
      return fill(option, context);
    }
  }
  if (Array.isArray(schema.allOf)) {
    return fill(
      Object.assign({}, ...schema.allOf.filter(isSchema).map((s) => resolveRef(s, context.root))),
      context,
    );
  }
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  const type = types.find((t) => t !== "null") ?? (schema.properties ? "object" : types[0]);
  switch (type) {
    case "object": {
      const properties = isSchema(schema.properties) ? schema.properties : {};
      return Object.fromEntries(
        Object.entries(properties).map(([key, value]) => [key, fill(value, inner)]),
      );
    }
    case "array": {
      const itemSchema = isSchema(schema.items) ? resolveRef(schema.items, context.root) : {};
      const numeric = itemSchema.type === "integer" || itemSchema.type === "number";
      const citations = parseCitations(context.text);
      const sources: unknown[] =
        numeric && citations.length > 0 ? citations : listItems(context.text);
      const min = typeof schema.minItems === "number" ? schema.minItems : 0;
      const max = typeof schema.maxItems === "number" ? schema.maxItems : Infinity;
      const count = Math.min(max, Math.max(min, sources.length));
      return Array.from({ length: count }, (_, i) => {
        const source = sources.length > 0 ? sources[i % sources.length] : context.text;
        if (numeric && typeof source === "number" && schemaAllows(itemSchema, source))
          return source;
        return fill(itemSchema, { ...inner, text: String(source ?? context.text) });
      });
    }
    case "string": {
      let value = context.text;
      if (schema.format === "date-time") value = new Date(0).toISOString();
      else if (schema.format === "date") value = "1970-01-01";
      else if (schema.format === "uri" || schema.format === "url")
        value = "https://example.invalid/";
      else if (schema.format === "email") value = "demo@example.invalid";
      if (typeof schema.maxLength === "number") value = value.slice(0, schema.maxLength);
      if (typeof schema.minLength === "number") value = value.padEnd(schema.minLength, ".");
      return value;
    }
    case "integer":
    case "number": {
      if (typeof schema.minimum === "number")
        return type === "integer" ? Math.ceil(schema.minimum) : schema.minimum;
      if (typeof schema.exclusiveMinimum === "number")
        return Math.floor(schema.exclusiveMinimum) + 1;
      if (typeof schema.maximum === "number" && schema.maximum < 0) return schema.maximum;
      return 0;
    }
    case "boolean":
      return false;
    case "null":
      return null;
    default:
      return context.text;
  }
}

function schemaAllows(schema: Schema, value: number): boolean {
  if (schema.type === "integer" && !Number.isInteger(value)) return false;
  if (typeof schema.minimum === "number" && value < schema.minimum) return false;
  if (typeof schema.maximum === "number" && value > schema.maximum) return false;
  return true;
}

/** A JSON value shaped by `schema`, filled from the reply `text`. */
export function fillSchema(schema: unknown, text: string): unknown {
  const root = isSchema(schema) ? schema : {};
  return fill(root, { text, root, depth: 0 });
}
