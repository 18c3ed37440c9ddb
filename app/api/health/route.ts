import { db } from "@/lib/db";
import { logger } from "@/lib/logger";

export const dynamic = "force-dynamic";

/** Liveness and readiness: the app answers and its database does too. */
export async function GET() {
  try {
    await db.$queryRaw`SELECT 1`;
    return Response.json({ status: "ok" });
  } catch (error) {
    logger.error("health.database_unreachable", { error });
    return Response.json({ status: "error", database: "unreachable" }, { status: 503 });
  }
}
