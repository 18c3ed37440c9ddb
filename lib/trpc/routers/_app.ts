import { createCallerFactory, createTRPCRouter } from "@/lib/trpc/init";
import { chatRouter } from "@/lib/trpc/routers/chat";
import { jobsRouter } from "@/lib/trpc/routers/jobs";
import { mailboxRouter } from "@/lib/trpc/routers/mailbox";
import { ownerRouter } from "@/lib/trpc/routers/owner";

export const appRouter = createTRPCRouter({
  owner: ownerRouter,
  jobs: jobsRouter,
  chat: chatRouter,
  mailbox: mailboxRouter,
});

export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);
