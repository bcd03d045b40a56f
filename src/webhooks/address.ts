// Which receiver addresses a webhook may reach. Pure: an address in, a verdict
// out. A webhook URL is chosen by whoever can call add_webhook; without this
// check it could make the worker POST into the network it runs in (SSRF):
// a database's admin port, a cloud metadata service, a router.
//
// The ranges are ipaddr.js's (IANA's special-purpose registries); only what it
// calls ordinary unicast is public. Addresses that carry an IPv4 address
// inside an IPv6 one reach that IPv4 address, so they are judged by it.
import { isIP } from "node:net";
import ipaddr from "ipaddr.js";

// NAT64's well-known prefix (RFC 6052): 64:ff9b::a.b.c.d reaches a.b.c.d
// through the translator, which may sit inside the private network.
const NAT64 = ipaddr.IPv6.parseCIDR("64:ff9b::/96");
// Deprecated IPv4-compatible addresses (::a.b.c.d), which ipaddr.js files as unicast.
const IPV4_COMPATIBLE = ipaddr.IPv6.parseCIDR("::/96");

export type AddressVerdict =
  | { public: true }
  | { public: false; range: string };

/**
 * Whether `address` (an IPv4 or IPv6 address as text, as DNS answers or a URL
 * names it) is an ordinary public unicast address. Otherwise `range` names
 * why not: loopback, private, linkLocal, uniqueLocal, carrierGradeNat,
 * unspecified, multicast, broadcast, reserved, ... and, for an IPv4 address
 * inside an IPv6 one, e.g. "ipv4Mapped loopback". Throws on text that is not
 * an IP address.
 */
export function classifyAddress(address: string): AddressVerdict {
  // What node would connect to: its parser decides what an address is.
  const family = isIP(address);
  if (family === 0) throw new TypeError(`not an IP address: ${JSON.stringify(address.slice(0, 64))}`);
  if (family === 4) return verdict(ipaddr.IPv4.parse(address).range());

  const ipv6 = parseIPv6(address);
  if (ipv6.isIPv4MappedAddress()) return embedded("ipv4Mapped", ipv6.toIPv4Address());
  if (ipv6.match(NAT64)) return embedded("nat64", lowIPv4(ipv6));
  const range = ipv6.range();
  // ::1 and :: are loopback and unspecified; the rest of ::/96 is IPv4-compatible.
  if (range === "unicast" && ipv6.match(IPV4_COMPATIBLE)) return { public: false, range: "ipv4Compatible" };
  return verdict(range);
}

function verdict(range: string): AddressVerdict {
  return range === "unicast" ? { public: true } : { public: false, range };
}

function embedded(wrapper: string, inner: ipaddr.IPv4): AddressVerdict {
  const inside = verdict(inner.range());
  return inside.public ? inside : { public: false, range: `${wrapper} ${inside.range}` };
}

// ipaddr.js reads "::127.0.0.1" as ::ffff:127.0.0.1; the URL parser, like
// inet_pton, reads it as ::7f00:1. A zone (fe80::1%eth0) does not change
// what kind of address it is.
function parseIPv6(text: string): ipaddr.IPv6 {
  const bare = text.split("%")[0]!;
  return ipaddr.IPv6.parse(new URL(`http://[${bare}]/`).hostname.slice(1, -1));
}

function lowIPv4(address: ipaddr.IPv6): ipaddr.IPv4 {
  const bytes = address.toByteArray();
  return new ipaddr.IPv4(bytes.slice(12, 16));
}
