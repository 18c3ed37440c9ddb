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

type IPv4 = ipaddr.IPv4;
type IPv6 = ipaddr.IPv6;

const ipv4Compatible = ipaddr.parseCIDR("::/96");
const nat64WellKnown = ipaddr.parseCIDR("64:ff9b::/96");
const nat64LocalUse = ipaddr.parseCIDR("64:ff9b:1::/48");
const sixToFour = ipaddr.parseCIDR("2002::/16");
const teredo = ipaddr.parseCIDR("2001::/32");

/**
 * Byte offsets of the IPv4 address inside an RFC 6052 IPv4-embedded IPv6
 * address, for each prefix length a NAT64 operator may pick inside the
 * local-use 64:ff9b:1::/48 (byte 8, the "u" octet, is always skipped).
 */
const rfc6052Offsets: readonly (readonly number[])[] = [
  [6, 7, 9, 10], // /48
  [7, 9, 10, 11], // /56
  [9, 10, 11, 12], // /64
  [12, 13, 14, 15], // /96
];

function ipv4At(bytes: number[], offsets: readonly number[], xor = 0): IPv4 {
  return new ipaddr.IPv4(offsets.map((offset) => bytes[offset]! ^ xor));
}

/**
 * Every IPv4 address an IPv6 address carries by a transition mechanism, i.e.
 * the IPv4 hosts a packet to it can end up at:
 * IPv4-mapped ::ffff:0:0/96, IPv4-translated ::ffff:0:0:0/96 (SIIT),
 * IPv4-compatible ::/96, NAT64 64:ff9b::/96, local-use NAT64 64:ff9b:1::/48,
 * 6to4 2002::/16 and Teredo 2001::/32 (whose client address is stored XORed
 * with 0xff). An empty list means a native IPv6 address.
 *
 * NOTE: the local-use NAT64 prefix does not say which prefix length its
 * operator picked, so the IPv4 address is read at every RFC 6052 position
 * and all of them must pass: a public-looking decoding at one position
 * cannot hide a private one at another.
 * NOTE: ipaddr.js parses the dotted IPv4-compatible form "::127.0.0.1" (the
 * way getaddrinfo prints ::7f00:1) as the IPv4-mapped ::ffff:7f00:1. Both
 * carry the same IPv4 address, so the verdict is the same either way.
 */
export function embeddedIPv4(address: IPv6): IPv4[] {
  const bytes = address.toByteArray();
  const last32 = [12, 13, 14, 15];
  const range = address.range();
  if (range === "ipv4Mapped" || range === "rfc6145") return [ipv4At(bytes, last32)];
  if (address.match(nat64WellKnown)) return [ipv4At(bytes, last32)];
  if (address.match(nat64LocalUse)) return rfc6052Offsets.map((offsets) => ipv4At(bytes, offsets));
  if (address.match(sixToFour)) return [ipv4At(bytes, [2, 3, 4, 5])];
  if (address.match(teredo)) return [ipv4At(bytes, last32, 0xff)];
  // :: and ::1 are IPv6's own unspecified and loopback addresses, not IPv4 carriers.
  if (address.match(ipv4Compatible) && range !== "unspecified" && range !== "loopback")
    return [ipv4At(bytes, last32)];
  return [];
}

/**
 * The ipaddr.js range name of an address ("unicast", "loopback", "private",
 * "linkLocal", "carrierGradeNat", "uniqueLocal", ...). An IPv6 address that
 * embeds IPv4 addresses (see `embeddedIPv4`) gets the range of the first
 * embedded address that is not "unicast", else "unicast": the IPv4 policy
 * decides where such a packet may go. Returns "invalid" for anything that is
 * not an IP address.
 */
export function addressRange(address: string): string {
  const bare = address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address;
  // Zone ids (fe80::1%eth0) only ever appear on link-local addresses.
  if (bare.includes("%")) return "linkLocal";
  if (!ipaddr.isValid(bare)) return "invalid";
  const parsed = ipaddr.parse(bare);
  if (parsed.kind() === "ipv4") return parsed.range();
  const ipv6 = parsed as IPv6;
  const embedded = embeddedIPv4(ipv6);
  if (embedded.length === 0) return ipv6.range();
  return embedded.map((ipv4) => ipv4.range()).find((range) => range !== "unicast") ?? "unicast";
}

/**
 * True only for globally routable unicast addresses. Everything ipaddr.js puts
 * in a special-purpose range is refused: loopback, RFC 1918, link-local (and so
 * the 169.254.169.254 / fd00:ec2::254 metadata endpoints), CGNAT (and so
 * 100.100.100.200), multicast, broadcast, unspecified, reserved and
 * documentation ranges, and unique-local IPv6. IPv6 forms that carry an IPv4
 * address (mapped, compatible, NAT64, 6to4, Teredo) pass only when every IPv4
 * address they carry would.
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
