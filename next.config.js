// @ts-check

/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  typedRoutes: true,
  // NOTE: the development server refuses its assets (and so hydration) to an
  // origin other than the one it was started on; people open it at both.
  allowedDevOrigins: ["localhost", "127.0.0.1"],
  // NOTE: `npm run typecheck` (tsc over the whole project, tests included) is
  // its own step in `npm test` and CI; the build does not repeat it.
  typescript: { ignoreBuildErrors: true },
  // NOTE: these run in Node only and must not be bundled (native pg bindings, the
  // Prisma runtime, pdf/worker files).
  serverExternalPackages: ["pg", "@prisma/adapter-pg", "unpdf", "linkedom", "undici"],
  async headers() {
    return [
      {
        source: "/:path*",
        headers: [
          { key: "X-Content-Type-Options", value: "nosniff" },
          { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
          { key: "X-Frame-Options", value: "DENY" },
        ],
      },
    ];
  },
};

export default nextConfig;
