/**
 * Which network addresses a server-side fetch may connect to, and a DNS
 * `lookup` that enforces it at connect time.
 *
 * The check lives in the socket's own lookup rather than in a separate
 * pre-resolution step, so the address that was checked is the address the
 * socket connects to: a hostname that resolves to a public address for the
 * check and to 127.0.0.1 a moment later (DNS rebinding) has no gap to use.
 */
import dns from "node:dns";
import type { LookupFunction } from "node:net";
import ipaddr from "ipaddr.js";

/**
 * The ipaddr.js range name of an address ("unicast", "loopback", "private",
 * "linkLocal", "carrierGradeNat", "uniqueLocal", "ipv4Mapped" targets, ...).
 * IPv4-mapped and IPv4-compatible IPv6 forms are classified as the IPv4 address
 * they carry. Returns "invalid" for anything that is not an IP address.
 */
export function addressRange(address: string): string {
  const bare = address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address;
  // Zone ids (fe80::1%eth0) only ever appear on link-local addresses.
  if (bare.includes("%")) return "linkLocal";
  if (!ipaddr.isValid(bare)) return "invalid";
  return ipaddr.process(bare).range();
}

/**
 * True only for globally routable unicast addresses. Everything ipaddr.js puts
 * in a special-purpose range is refused: loopback, RFC 1918, link-local (and so
 * the 169.254.169.254 / fd00:ec2::254 metadata endpoints), CGNAT (and so
 * 100.100.100.200), multicast, broadcast, unspecified, reserved and
 * documentation ranges, unique-local IPv6, and the IPv6 transition prefixes
 * (NAT64, 6to4, Teredo) that can tunnel to a private IPv4 address.
 */
export function isPublicAddress(address: string): boolean {
  return addressRange(address) === "unicast";
}

export function isIpLiteral(hostname: string): boolean {
  return addressRange(hostname) !== "invalid";
}

/** Raised from inside the socket's lookup; fetch-document maps it to `blocked_address`. */
export class BlockedAddressError extends Error {
  override readonly name = "BlockedAddressError";
  readonly code = "EBLOCKEDADDRESS";
  constructor(
    readonly hostname: string,
    readonly address: string,
  ) {
    super(`${hostname} resolves to a non-public address (${address}, ${addressRange(address)})`);
  }
}

type Resolver = (
  hostname: string,
  options: dns.LookupAllOptions,
  callback: (error: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void,
) => void;

/**
 * A `net.connect` lookup that resolves with the system resolver and refuses the
 * connection when any resolved address is not public. Refusing on *any* (not
 * only the one tried first) keeps happy-eyeballs fallbacks from reaching a
 * private address listed beside a public one.
 */
export function createGuardedLookup(
  options: { allowPrivate?: boolean; resolve?: Resolver } = {},
): LookupFunction {
  const resolve: Resolver = options.resolve ?? ((host, opts, cb) => dns.lookup(host, opts, cb));
  return (hostname, lookupOptions, callback) => {
    resolve(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
      if (error) return callback(error, "", 4);
      if (addresses.length === 0) {
        const notFound: NodeJS.ErrnoException = new Error(`no addresses for ${hostname}`);
        notFound.code = "ENOTFOUND";
        return callback(notFound, "", 4);
      }
      if (!options.allowPrivate) {
        const blocked = addresses.find((entry) => !isPublicAddress(entry.address));
        if (blocked) return callback(new BlockedAddressError(hostname, blocked.address), "", 4);
      }
      if (lookupOptions.all) return callback(null, addresses);
      const first = addresses[0]!;
      return callback(null, first.address, first.family);
    });
  };
}
