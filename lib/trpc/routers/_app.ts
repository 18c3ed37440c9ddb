import { createCallerFactory, createTRPCRouter } from "@/lib/trpc/init";
import { jobsRouter } from "@/lib/trpc/routers/jobs";
import { ownerRouter } from "@/lib/trpc/routers/owner";

export const appRouter = createTRPCRouter({
  owner: ownerRouter,
  jobs: jobsRouter,
});

export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);
