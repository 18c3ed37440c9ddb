import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { createTRPCContext } from "@/lib/trpc/init";
import { appRouter } from "@/lib/trpc/routers/_app";
import { logger } from "@/lib/logger";

async function handler(req: Request) {
  const response = await fetchRequestHandler({
    endpoint: "/api/trpc",
    req,
    router: appRouter,
    createContext: () => createTRPCContext({ headers: req.headers }),
    onError({ path, error, ctx }) {
      if (error.code === "INTERNAL_SERVER_ERROR") {
        logger.error("trpc.error", {
          path,
          correlationId: ctx?.correlationId,
          error: error.cause ?? error,
        });
      }
    },
  });
  // NOTE: live subscriptions (server-sent events) must not be compressed by
  // the server or a proxy: gzip would cost a flush per event, or hold events back.
  if (response.headers.get("content-type")?.startsWith("text/event-stream")) {
    response.headers.set("cache-control", "no-cache, no-transform");
  }
  return response;
}

export { handler as GET, handler as POST };
