/**
 * Gives every browser an owner identity before anything renders: when the
 * request has no valid owner cookie, a new one is minted, set on the response
 * and passed to the request itself so this very render already sees it.
 */
import { NextResponse, type NextRequest } from "next/server";
import {
  OWNER_COOKIE,
  newOwnerCookie,
  ownerCookieOptions,
  unsealOwnerId,
} from "@/lib/auth/owner-cookie";

export async function proxy(request: NextRequest) {
  const ownerId = await unsealOwnerId(request.cookies.get(OWNER_COOKIE)?.value);
  if (ownerId) return NextResponse.next();

  const cookie = await newOwnerCookie();
  request.cookies.set(OWNER_COOKIE, cookie.value);
  const headers = new Headers(request.headers);
  headers.set("cookie", request.cookies.toString());
  const response = NextResponse.next({ request: { headers } });
  response.cookies.set(OWNER_COOKIE, cookie.value, ownerCookieOptions);
  return response;
}

export const config = {
  // Pages only: a browser always loads a page before it calls the API, and
  // API handlers read (and require) the cookie themselves, so the hot paths
  // (chat streams, tRPC, Inngest calls) skip this step.
  matcher: ["/((?!_next/static|_next/image|favicon.ico|icon.svg|api/).*)"],
};
