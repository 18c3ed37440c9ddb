/**
 * Test helpers: a tRPC caller acting as a given browser (through the same
 * sealed cookie the proxy issues), or as a browser with no identity.
 */
import { newOwnerCookie, OWNER_COOKIE } from "@/lib/auth/owner-cookie";
import { createTRPCContext } from "@/lib/trpc/init";
import { createCaller } from "@/lib/trpc/routers/_app";

export async function callerAsNewOwner() {
  const { ownerId, value } = await newOwnerCookie();
  const headers = new Headers({ cookie: `${OWNER_COOKIE}=${encodeURIComponent(value)}` });
  return { ownerId, headers, caller: createCaller(await createTRPCContext({ headers })) };
}

export async function anonymousCaller() {
  return createCaller(await createTRPCContext({ headers: new Headers() }));
}
