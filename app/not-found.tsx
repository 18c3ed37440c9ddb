import Link from "next/link";

export default function NotFound() {
  return (
    <div className="mx-auto max-w-xl px-4 py-20 text-center">
      <h1 className="text-2xl font-semibold">Not found</h1>
      <p className="mt-2 text-zinc-600 dark:text-zinc-400">
        This page does not exist, or it is not yours to see.
      </p>
      <Link href="/" className="mt-6 inline-block text-indigo-600 underline dark:text-indigo-400">
        Back to Dispatch
      </Link>
    </div>
  );
}
