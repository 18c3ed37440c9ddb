import type { Metadata } from "next";

export const metadata: Metadata = { title: "Jobs" };

export default function JobsPage() {
  return (
    <div className="mx-auto w-full max-w-5xl px-4 py-12 sm:px-6">
      <h1 className="text-2xl font-semibold">Jobs</h1>
    </div>
  );
}
