/**
 * The one tRPC instance. Exports the router and caller factories and the
 * procedures; authorization lives in middleware here, not in handlers.
 */
import "server-only";
import { initTRPC, TRPCError } from "@trpc/server";
import { randomUUID } from "node:crypto";
import { cache } from "react";
import superjson from "superjson";
import { z, ZodError } from "zod";
import { ownerIdFromHeaders } from "@/lib/auth/owner-cookie";
import { ensureOwner } from "@/lib/auth/owner";
import { db } from "@/lib/db";

/**
 * One context for the route handler, server components and `createCaller` in
 * tests: everything is derived from the request headers.
 */
export const createTRPCContext = cache(async (opts: { headers: Headers }) => {
  return {
    db,
    headers: opts.headers,
    ownerId: await ownerIdFromHeaders(opts.headers),
    correlationId: opts.headers.get("x-correlation-id") ?? randomUUID(),
  };
});

export type TRPCContext = Awaited<ReturnType<typeof createTRPCContext>>;

const t = initTRPC.context<TRPCContext>().create({
  transformer: superjson,
  // Idle proxies close quiet connections; a ping every 15 s keeps job streams open.
  sse: { ping: { enabled: true, intervalMs: 15_000 } },
  errorFormatter({ shape, error }) {
    return {
      ...shape,
      data: {
        ...shape.data,
        // Field-level messages for forms; the cause's details stay on the server.
        zodError: error.cause instanceof ZodError ? z.flattenError(error.cause) : null,
        stack: undefined,
      },
    };
  },
});

export const createTRPCRouter = t.router;
export const createCallerFactory = t.createCallerFactory;

export const publicProcedure = t.procedure;

/** Requires the browser's owner identity and makes sure its row exists. */
export const ownerProcedure = t.procedure.use(async ({ ctx, next }) => {
  if (!ctx.ownerId) {
    throw new TRPCError({
      code: "UNAUTHORIZED",
      message: "This browser has no Dispatch identity yet. Reload the page.",
    });
  }
  await ensureOwner(ctx.ownerId);
  return next({ ctx: { ...ctx, ownerId: ctx.ownerId } });
});
