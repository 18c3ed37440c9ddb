import type { UIMessage } from "ai";
import { z } from "zod";
import { stopStream } from "@/lib/chat/active-streams";
import { settleDeadAnswers } from "@/lib/chat/liveness";
import { chatMetadataSchema, type ChatMetadata } from "@/lib/chat/schema";
import { modelInfo } from "@/lib/ai/providers";
import { DomainError } from "@/lib/errors";
import { safeText } from "@/lib/text";
import {
  conversationProcedure,
  createTRPCRouter,
  ownerProcedure,
  publicProcedure,
} from "@/lib/trpc/init";

/** A stored message as the browser holds it: its status and error travel in the metadata. */
export type ChatUIMessage = UIMessage<ChatMetadata>;

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

  byId: conversationProcedure.query(async ({ ctx }) => {
    // An answer whose server died is shown (and stored) as interrupted.
    await settleDeadAnswers({ conversationId: ctx.conversation.id });
    const conversation = await ctx.db.conversation.findFirst({
      where: { id: ctx.conversation.id },
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
    // Deleted in another tab since the check.
    if (!conversation) throw new DomainError("conversation_not_found");
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

  rename: conversationProcedure
    .input(z.object({ title: safeText().trim().min(1, "A title is required.").max(200) }))
    .mutation(async ({ ctx, input }) => {
      const { count } = await ctx.db.conversation.updateMany({
        where: { id: ctx.conversation.id },
        data: { title: input.title },
      });
      // Deleted in another tab since the check.
      if (!count) throw new DomainError("conversation_not_found");
      return { id: ctx.conversation.id, title: input.title };
    }),

  // NOTE: the stream is stopped only once the conversation is known to be the caller's.
  delete: conversationProcedure.mutation(async ({ ctx }) => {
    await stopStream(ctx.conversation.id);
    const { count } = await ctx.db.conversation.deleteMany({ where: { id: ctx.conversation.id } });
    if (!count) throw new DomainError("conversation_not_found");
    return { id: ctx.conversation.id };
  }),

  /** Stops the answer being written: the model call is aborted, the partial kept as "stopped". */
  stop: conversationProcedure.mutation(async ({ ctx }) => ({
    stopped: await stopStream(ctx.conversation.id),
  })),
});
