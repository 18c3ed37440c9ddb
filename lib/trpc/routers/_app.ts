import { createCallerFactory, createTRPCRouter } from "@/lib/trpc/init";
import { ownerRouter } from "@/lib/trpc/routers/owner";

export const appRouter = createTRPCRouter({
  owner: ownerRouter,
});

export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);
