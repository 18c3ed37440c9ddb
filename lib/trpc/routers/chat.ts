import { TRPCError } from "@trpc/server";
import type { UIMessage } from "ai";
import { z } from "zod";
import { stopStream } from "@/lib/chat/active-streams";
import { settleDeadAnswers } from "@/lib/chat/liveness";
import { chatMetadataSchema, storableText, type ChatMetadata } from "@/lib/chat/schema";
import { modelInfo } from "@/lib/ai/providers";
import { createTRPCRouter, ownerProcedure, publicProcedure } from "@/lib/trpc/init";

/** A stored message as the browser holds it: its status and error travel in the metadata. */
export type ChatUIMessage = UIMessage<ChatMetadata>;

const conversationId = z.object({ id: z.uuid() });

export const chatRouter = createTRPCRouter({
  /** Which model answers (no keys or URLs), e.g. "Offline demo model". */
  model: publicProcedure.query(() => modelInfo()),

  list: ownerProcedure.query(({ ctx }) =>
    ctx.db.conversation.findMany({
      where: { ownerId: ctx.ownerId },
      orderBy: { updatedAt: "desc" },
      take: 200,
      select: { id: true, title: true, updatedAt: true },
    }),
  ),

  byId: ownerProcedure.input(conversationId).query(async ({ ctx, input }) => {
    // An answer whose server died is shown (and stored) as interrupted.
    await settleDeadAnswers({ conversationId: input.id });
    const conversation = await ctx.db.conversation.findFirst({
      where: { id: input.id, ownerId: ctx.ownerId },
      select: {
        id: true,
        title: true,
        messages: {
          orderBy: { position: "asc" },
          select: {
            id: true,
            role: true,
            parts: true,
            status: true,
            errorCode: true,
            errorMessage: true,
            correlationId: true,
            model: true,
          },
        },
        // Jobs started from this conversation; their cards follow `afterMessageId`.
        jobs: {
          orderBy: { createdAt: "asc" },
          take: 100,
          select: { id: true, afterMessageId: true },
        },
      },
    });
    if (!conversation) return null;
    const messages: ChatUIMessage[] = conversation.messages.map((message) => ({
      id: message.id,
      role: message.role,
      parts: message.parts as UIMessage["parts"],
      metadata: chatMetadataSchema.parse({
        status: message.status,
        errorCode: message.errorCode,
        errorMessage: message.errorMessage,
        correlationId: message.correlationId ?? undefined,
        model: message.model ?? undefined,
      }),
    }));
    return { id: conversation.id, title: conversation.title, messages, jobs: conversation.jobs };
  }),

  rename: ownerProcedure
    .input(
      z.object({
        id: z.uuid(),
        title: storableText.trim().min(1, "A title is required.").max(200),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const { count } = await ctx.db.conversation.updateMany({
        where: { id: input.id, ownerId: ctx.ownerId },
        data: { title: input.title },
      });
      if (!count)
        throw new TRPCError({ code: "NOT_FOUND", message: "This conversation does not exist." });
      return { id: input.id, title: input.title };
    }),

  delete: ownerProcedure.input(conversationId).mutation(async ({ ctx, input }) => {
    await stopStream(input.id);
    const { count } = await ctx.db.conversation.deleteMany({
      where: { id: input.id, ownerId: ctx.ownerId },
    });
    if (!count)
      throw new TRPCError({ code: "NOT_FOUND", message: "This conversation does not exist." });
    return { id: input.id };
  }),

  /** Stops the answer being written: the model call is aborted, the partial kept as "stopped". */
  stop: ownerProcedure.input(conversationId).mutation(async ({ ctx, input }) => {
    const owned = await ctx.db.conversation.count({
      where: { id: input.id, ownerId: ctx.ownerId },
    });
    if (!owned)
      throw new TRPCError({ code: "NOT_FOUND", message: "This conversation does not exist." });
    return { stopped: await stopStream(input.id) };
  }),
});
