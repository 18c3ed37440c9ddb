import { rememberedOwnerEmail } from "@/lib/email/notifications";
import { ownerProcedure, createTRPCRouter } from "@/lib/trpc/init";

export const ownerRouter = createTRPCRouter({
  me: ownerProcedure.query(async ({ ctx }) => {
    return ctx.db.owner.findUniqueOrThrow({
      where: { id: ctx.ownerId },
      select: { id: true, createdAt: true },
    });
  }),

  /** The address this owner asked to be emailed at last, offered again by the new-job form. */
  rememberedEmail: ownerProcedure.query(async ({ ctx }) => ({
    email: await rememberedOwnerEmail(ctx.ownerId),
  })),
});
