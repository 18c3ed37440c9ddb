/**
 * The one tRPC instance. Exports the router and caller factories and the
 * procedures; authorization lives in middleware here, not in handlers: a
 * procedure that takes a job or a conversation receives it already
 * authorized on its context.
 */
import "server-only";
import { initTRPC } from "@trpc/server";
import { cache } from "react";
import superjson from "superjson";
import { z, ZodError } from "zod";
import { ownerIdFromHeaders } from "@/lib/auth/owner-cookie";
import { ensureOwner } from "@/lib/auth/owner";
import { mailboxEnabled } from "@/lib/email/mailbox";
import { db } from "@/lib/db";
import { DomainError, genericErrorMessage, isDomainError } from "@/lib/errors";
import { authorizeJob, type AccessNeed } from "@/lib/jobs/access";
import { accessTokenSchema } from "@/lib/jobs/schemas";
import { correlationIdOf } from "@/lib/http/request";
import { hasSafeMessage, toTRPCError } from "@/lib/trpc/errors";

/**
 * One context for the route handler, server components and `createCaller` in
 * tests: everything is derived from the request headers.
 */
export const createTRPCContext = cache(async (opts: { headers: Headers }) => {
  return {
    db,
    headers: opts.headers,
    ownerId: await ownerIdFromHeaders(opts.headers),
    correlationId: correlationIdOf(opts.headers),
  };
});

type TRPCContext = Awaited<ReturnType<typeof createTRPCContext>>;

const t = initTRPC.context<TRPCContext>().create({
  transformer: superjson,
  // Idle proxies close quiet connections; a ping every 15 s keeps job streams open.
  sse: { ping: { enabled: true, intervalMs: 15_000 } },
  errorFormatter({ shape, error, ctx }) {
    // Only the input's own validation: a schema failing deep in lib/ is an internal error.
    const zodError =
      error.code === "BAD_REQUEST" && error.cause instanceof ZodError ? error.cause : null;
    const safe = hasSafeMessage(error);
    // NOTE: removed, not set to undefined: superjson would still name the key in its metadata.
    const { stack: _stack, ...data } = shape.data;
    return {
      ...shape,
      // A validation failure says which field, in words; an unexpected error says nothing of itself.
      message: zodError
        ? z.prettifyError(zodError)
        : safe
          ? shape.message
          : genericErrorMessage(ctx?.correlationId),
      data: {
        ...data,
        // Field-level messages for forms; the cause's details stay on the server.
        zodError: zodError ? z.flattenError(zodError) : null,
        correlationId: safe ? null : (ctx?.correlationId ?? null),
      },
    };
  },
});

export const createTRPCRouter = t.router;
export const createCallerFactory = t.createCallerFactory;

/** Domain errors thrown below (lib/errors.ts) answer with their own code and message. */
const domainErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && isDomainError(result.error.cause)) throw toTRPCError(result.error.cause);
  return result;
});

export const publicProcedure = t.procedure.use(domainErrors);

/** Requires the browser's owner identity and makes sure its row exists. */
export const ownerProcedure = publicProcedure.use(async ({ ctx, next }) => {
  if (!ctx.ownerId) throw new DomainError("no_identity");
  await ensureOwner(ctx.ownerId);
  return next({ ctx: { ...ctx, ownerId: ctx.ownerId } });
});

/** A job reference: its permalink id, and the signed token of an email's link, if any. */
const jobRefSchema = z.object({
  id: z.string().max(64),
  token: accessTokenSchema.nullish(),
});

/**
 * Procedures on one job: the job, authorized for `need` (lib/jobs/access.ts),
 * is `ctx.job`, and how the caller may see it is `ctx.access`. Anyone else is
 * told the job does not exist.
 */
export function jobProcedure(need: AccessNeed) {
  return publicProcedure.input(jobRefSchema).use(async ({ ctx, input, next }) => {
    const { job, access } = await authorizeJob(ctx, input.id, input.token, need);
    return next({ ctx: { job, access } });
  });
}

/** Procedures on one of the caller's conversations: it is `ctx.conversation`. */
export const conversationProcedure = ownerProcedure
  .input(z.object({ id: z.uuid() }))
  .use(async ({ ctx, input, next }) => {
    const conversation = await ctx.db.conversation.findFirst({
      where: { id: input.id, ownerId: ctx.ownerId },
      select: { id: true },
    });
    if (!conversation) throw new DomainError("conversation_not_found");
    return next({ ctx: { conversation } });
  });

/**
 * Procedures on the development mailbox (/dev/mailbox), which holds every
 * signed job link the app mailed: outside development it does not exist.
 */
export const mailboxProcedure = publicProcedure.use(({ next }) => {
  if (!mailboxEnabled()) throw new DomainError("mail_not_found");
  return next();
});
