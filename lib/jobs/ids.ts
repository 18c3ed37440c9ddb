/**
 * Job ids are permalinks anyone holding them may try, so they carry 144
 * random bits (base64url, 24 characters): unguessable, URL-safe, no padding.
 */
import { randomBytes } from "node:crypto";

export function newJobId(): string {
  return randomBytes(18).toString("base64url");
}
