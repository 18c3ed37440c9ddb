/**
 * `npm run corpus:import <dir> [-- --base-url <url>]`: imports a folder of
 * HTML, Markdown and plain-text files as the shared research corpus (see
 * scripts/lib/corpus.ts). `npm run corpus:import -- --demo [--only-missing]`
 * imports the demo corpus (scripts/lib/demo-corpus.ts).
 */
import nextEnv from "@next/env";
import { parseEnv } from "@/lib/env-schema";
import { importCorpus } from "./lib/corpus";
import { importDemoCorpus } from "./lib/demo-corpus";

function parseArgs(argv: string[]) {
  const args: { dir?: string; baseUrl?: string; demo: boolean; onlyMissing: boolean } = {
    demo: false,
    onlyMissing: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--base-url") args.baseUrl = argv[++i];
    else if (arg.startsWith("--base-url=")) args.baseUrl = arg.slice("--base-url=".length);
    else if (arg === "--demo") args.demo = true;
    else if (arg === "--only-missing") args.onlyMissing = true;
    else args.dir ??= arg;
  }
  return args;
}

nextEnv.loadEnvConfig(process.cwd(), true, { info: () => {}, error: console.error });
const { dir, baseUrl, demo, onlyMissing } = parseArgs(process.argv.slice(2));
const databaseUrl = parseEnv(process.env).DATABASE_URL;
if (demo) {
  await importDemoCorpus(databaseUrl, (line) => console.log(line), { onlyMissing });
  process.exit(0);
}
if (!dir) {
  console.error("usage: npm run corpus:import <dir> [-- --base-url <url>]   (or -- --demo)");
  process.exit(2);
}
if (baseUrl && !URL.canParse(baseUrl)) {
  console.error(`--base-url is not a URL: ${baseUrl}`);
  process.exit(2);
}
const summary = await importCorpus(dir, { databaseUrl, baseUrl });
console.log(
  `corpus: done, ${summary.created} new, ${summary.updated} updated, ${summary.unchanged} unchanged, ${summary.failed} skipped`,
);
