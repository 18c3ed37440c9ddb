import { handleChatRequest } from "@/lib/chat/respond";

export const dynamic = "force-dynamic";
// Long answers stream for a while; hosts that cap function duration need this raised.
export const maxDuration = 300;

export function POST(req: Request) {
  return handleChatRequest(req);
}
