import Link from "next/link";
import { NavLink } from "@/components/nav-link";

export function SiteHeader() {
  return (
    <header className="sticky top-0 z-30 border-b border-zinc-200 bg-white/90 backdrop-blur dark:border-zinc-800 dark:bg-zinc-950/90">
      <div className="mx-auto flex h-14 max-w-6xl items-center gap-4 px-4 sm:px-6">
        <Link href="/" className="flex items-center gap-2 font-semibold tracking-tight">
          <svg aria-hidden="true" viewBox="0 0 32 32" className="size-7">
            <rect width="32" height="32" rx="7" className="fill-indigo-600" />
            <path
              d="M9 16h9m0 0-4-4m4 4-4 4M21 10v12"
              stroke="#fff"
              strokeWidth="2.5"
              fill="none"
              strokeLinecap="round"
              strokeLinejoin="round"
            />
          </svg>
          <span>Dispatch</span>
        </Link>
        <nav aria-label="Main" className="flex items-center gap-1">
          <NavLink href="/chat">Chat</NavLink>
          <NavLink href="/jobs">Jobs</NavLink>
        </nav>
      </div>
    </header>
  );
}
