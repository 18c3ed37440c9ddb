import { handleUpload } from "@/app/api/uploads/handle-upload";

export const dynamic = "force-dynamic";
// A large PDF takes a while to read.
export const maxDuration = 120;

export function POST(req: Request) {
  return handleUpload(req);
}
