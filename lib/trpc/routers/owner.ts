import { ownerProcedure, createTRPCRouter } from "@/lib/trpc/init";

export const ownerRouter = createTRPCRouter({
  me: ownerProcedure.query(async ({ ctx }) => {
    return ctx.db.owner.findUniqueOrThrow({
      where: { id: ctx.ownerId },
      select: { id: true, createdAt: true },
    });
  }),
});
