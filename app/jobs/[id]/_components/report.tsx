import { Markdown } from "@/components/markdown";
import type { JobDetail } from "@/components/jobs/use-live-job";

/**
 * The final report as Markdown (rendered safely, see components/markdown.tsx),
 * its `[n]` markers turned into links to the sources below.
 */
export function Report({ text, job }: { text: string; job: JobDetail }) {
  const sourceIdByMarker = new Map(
    job.citations.map((citation) => [citation.marker, citation.sourceId]),
  );
  const linked = text.replace(/\[(\d{1,3})\](?!\()/g, (marker, digits: string) => {
    const n = Number(digits);
    const sourceId = sourceIdByMarker.get(n) ?? job.sources.find((source) => source.rank === n)?.id;
    return sourceId ? `[[${n}]](#source-${sourceId})` : marker;
  });
  return (
    <div data-testid="job-report" className="text-[15px] leading-7">
      <Markdown>{linked}</Markdown>
    </div>
  );
}

export function SourcesList({ job }: { job: JobDetail }) {
  if (job.sources.length === 0) return <p className="text-sm text-zinc-500">No sources yet.</p>;
  return (
    <ol className="space-y-3">
      {job.sources.map((source) => (
        <li key={source.id} id={`source-${source.id}`} className="scroll-mt-20 text-sm">
          <span className="mr-2 text-zinc-500 tabular-nums">[{source.rank}]</span>
          {source.url ? (
            <a
              href={source.url}
              rel="noopener noreferrer nofollow"
              target="_blank"
              className="font-medium text-indigo-700 hover:underline dark:text-indigo-400"
            >
              {source.title}
            </a>
          ) : (
            <span className="font-medium">{source.title}</span>
          )}
          {source.read ? (
            <span className="ml-2 text-xs text-emerald-700 dark:text-emerald-400">read</span>
          ) : null}
          {source.snippet ? (
            <p className="mt-1 text-zinc-600 dark:text-zinc-400">{source.snippet}</p>
          ) : null}
        </li>
      ))}
    </ol>
  );
}
