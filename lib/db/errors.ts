/**
 * Recognising Postgres errors through Prisma: typed model queries report
 * P2002, raw queries P2010 with the driver adapter's original SQLSTATE.
 */
interface PrismaLikeError {
  code?: string;
  meta?: { driverAdapterError?: { cause?: { originalCode?: string; kind?: string } } };
}

export function isUniqueViolation(error: unknown): boolean {
  const candidate = error as PrismaLikeError | null;
  if (!candidate || typeof candidate !== "object") return false;
  if (candidate.code === "P2002" || candidate.code === "23505") return true;
  const cause = candidate.meta?.driverAdapterError?.cause;
  return cause?.originalCode === "23505" || cause?.kind === "UniqueConstraintViolation";
}
