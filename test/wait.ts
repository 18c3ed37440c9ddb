/**
 * The one way tests wait for something to become true: Vitest's `vi.waitFor`
 * around a read and a test of what it read, so a timeout reports what was
 * last seen instead of a bare "timed out". The default bound is generous
 * (20 s): it only matters when something is wrong or the machine saturated,
 * and the wait ends as soon as the condition holds.
 */
import { vi } from "vitest";

export function waitUntil<T>(
  read: () => T | Promise<T>,
  accept: (value: T) => boolean,
  options: { timeout?: number; interval?: number; what?: string } = {},
): Promise<T> {
  return vi.waitFor(
    async () => {
      const value = await read();
      if (!accept(value))
        throw new Error(
          `${options.what ?? "the condition"} was not reached; last seen: ${JSON.stringify(value)}`,
        );
      return value;
    },
    { timeout: options.timeout ?? 20_000, interval: options.interval ?? 20 },
  );
}
