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

/**
 * SQLSTATEs of a server going away or not yet back: admin (57P01) or crash
 * (57P02) shutdown, "starting up / shutting down" (57P03), and the
 * connection exceptions (class 08).
 */
const UNAVAILABLE_SQLSTATE = /^(57P0[123]|08[0-9A-Z]{3})$/;
const UNREACHABLE_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout"]);
const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT"]);
/** Prisma's "can't reach", "timed out reaching" and "server closed the connection". */
const PRISMA_UNREACHABLE = new Set(["P1001", "P1002", "P1017"]);

interface ConnectionLikeError {
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  meta?: { driverAdapterError?: { cause?: { originalCode?: string; kind?: string } } };
}

/**
 * The database is restarting or unreachable: the same request may succeed in
 * a moment. Recognised from Prisma (typed and raw queries), from `pg` itself
 * (its own "Connection terminated" errors carry no code) and through causes.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current && typeof current === "object"; depth++) {
    const candidate = current as ConnectionLikeError;
    const code = typeof candidate.code === "string" ? candidate.code : "";
    if (PRISMA_UNREACHABLE.has(code) || SOCKET_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))
      return true;
    const adapter = candidate.meta?.driverAdapterError?.cause;
    if (adapter?.kind && UNREACHABLE_KINDS.has(adapter.kind)) return true;
    if (adapter?.originalCode && UNAVAILABLE_SQLSTATE.test(adapter.originalCode)) return true;
    // pg's own: a connection that ended, or a client used again after its connection failed.
    if (
      typeof candidate.message === "string" &&
      /^Connection terminated\b|^Client has encountered a connection error/.test(candidate.message)
    )
      return true;
    current = candidate.cause;
  }
  return false;
}

/**
 * Runs `attempt` again (after `delayMs`, up to `retries` times) while it fails
 * because the database is away, and only then: for work that has not answered
 * anyone yet (a route before its first byte), or a record of something done
 * that must not be lost to a restart (an email sent), so a database restart
 * costs a pause, not an error.
 */
export async function retryIfDatabaseUnavailable<T>(
  attempt: () => Promise<T>,
  options: { retries?: number; delayMs?: number } = {},
): Promise<T> {
  const { retries = 1, delayMs = 1000 } = options;
  for (let tried = 0; ; tried++) {
    try {
      return await attempt();
    } catch (error) {
      if (tried >= retries || !isDatabaseUnavailable(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
