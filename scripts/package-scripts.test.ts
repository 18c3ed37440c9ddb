/**
 * Every documented command is a real one: each npm script's files and
 * programs exist, and every `npm run …` the README or .env.example names is a
 * script of package.json.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const scripts: Record<string, string> = JSON.parse(readFileSync("package.json", "utf8")).scripts;
const SHELL_BUILTINS = new Set(["bash", "node", "sh"]);

describe("package.json scripts", () => {
  it("point at files that exist", () => {
    const missing = Object.entries(scripts).flatMap(([name, command]) =>
      [...command.matchAll(/(?:^|\s)((?:[\w.-]+\/)+[\w.-]+\.(?:ts|mts|mjs|js|sh))(?=\s|$)/g)]
        .map((match) => match[1]!)
        .filter((file) => !existsSync(file))
        .map((file) => `${name}: ${file}`),
    );
    expect(missing).toEqual([]);
  });

  it("run programs that are installed", () => {
    const missing = Object.entries(scripts).flatMap(([name, command]) =>
      command
        .split(/&&|\|\||;/)
        .map((part) => part.trim().split(/\s+/))
        // The wrapper runs the rest of the line as a command of its own.
        .flatMap((words) =>
          words[0] === "tsx" && words[1] === "scripts/with-postgres.ts"
            ? [words, words.slice(words[2] === "--test" ? 3 : 2)]
            : [words],
        )
        .map((words) => words[0]!)
        .filter(
          (program) =>
            !SHELL_BUILTINS.has(program) && !existsSync(path.join("node_modules", ".bin", program)),
        )
        .map((program) => `${name}: ${program}`),
    );
    expect(missing).toEqual([]);
  });

  it("include every npm command the documentation names", () => {
    const documented = ["README.md", ".env.example", "inngest-executor/README.md"]
      .filter((file) => existsSync(file))
      .flatMap((file) => [
        ...readFileSync(file, "utf8").matchAll(/\bnpm (?:run ([\w:-]+)|(test|start))\b/g),
      ])
      .map((match) => match[1] ?? match[2]!);
    expect(documented.length).toBeGreaterThan(3);
    expect([...new Set(documented)].filter((name) => !(name in scripts))).toEqual([]);
  });
});
