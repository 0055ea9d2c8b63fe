// Where an `http` task may connect: not to loopback, link-local, private or other internal addresses
// (SSRF: the server's own API, a cloud's metadata service, the office network) unless an admin allows
// them (--http-allow). Checked on the address the name resolves to — and the connection is made to that
// very address, so a name that resolves elsewhere a moment later (DNS rebinding) gains nothing — and again
// on every redirect.
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";

/** [CIDR, what it is] — refused unless allowed. */
const DENIED: Array<[string, string]> = [
  ["0.0.0.0/8", "an unspecified address"],
  ["10.0.0.0/8", "a private address"],
  ["100.64.0.0/10", "a carrier-grade NAT address"],
  ["127.0.0.0/8", "a loopback address"],
  ["169.254.0.0/16", "a link-local address (cloud metadata lives here)"],
  ["172.16.0.0/12", "a private address"],
  ["192.0.0.0/24", "a special-purpose address"],
  ["192.168.0.0/16", "a private address"],
  ["198.18.0.0/15", "a benchmarking address"],
  ["224.0.0.0/4", "a multicast address"],
  ["240.0.0.0/4", "a reserved address"],
  ["::/128", "an unspecified address"],
  ["::1/128", "a loopback address"],
  ["fc00::/7", "a unique local (private) address"],
  ["fe80::/10", "a link-local address"],
  ["ff00::/8", "a multicast address"],
  ["64:ff9b::/96", "a NAT64 address"],
];

function v4ToBig(ip: string): bigint {
  return ip.split(".").reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function v6ToBig(ip: string): bigint {
  let text = ip.toLowerCase();
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone);
  // A trailing dotted quad (::ffff:1.2.3.4) is two groups.
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad) {
    const v = v4ToBig(quad[1]!);
    text = `${text.slice(0, -quad[1]!.length)}${(v >> 16n).toString(16)}:${(v & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const h = head ? head.split(":") : [];
  const t = tail !== undefined ? (tail ? tail.split(":") : []) : [];
  const groups = tail !== undefined ? [...h, ...Array(8 - h.length - t.length).fill("0"), ...t] : h;
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g || "0", 16)), 0n);
}

/** An address as a family and a number; IPv4-mapped IPv6 (::ffff:a.b.c.d) counts as the IPv4 address it is. */
function parse(ip: string): { family: 4 | 6; value: bigint } | null {
  const kind = isIP(ip.replace(/%.*$/, ""));
  if (kind === 4) return { family: 4, value: v4ToBig(ip) };
  if (kind !== 6) return null;
  const value = v6ToBig(ip);
  if (value >> 32n === 0xffffn) return { family: 4, value: value & 0xffffffffn };
  return { family: 6, value };
}

function inCidr(ip: { family: 4 | 6; value: bigint }, cidr: string): boolean {
  const [base, bitsText] = cidr.split("/");
  const net = parse(base!);
  if (!net || net.family !== ip.family) return false;
  const width = ip.family === 4 ? 32n : 128n;
  const bits = BigInt(bitsText === undefined ? Number(width) : Number(bitsText));
  const shift = width - bits;
  return ip.value >> shift === net.value >> shift;
}

/** Why `ip` is refused (the range it is in), or null when it is a public address. */
export function internalRange(ip: string): string | null {
  const p = parse(ip);
  if (!p) return "not an IP address";
  for (const [cidr, what] of DENIED) if (inCidr(p, cidr)) return `${what} (${cidr})`;
  return null;
}

/**
 * Whether the admin's list (--http-allow: host names, `*.example.com`, IP addresses, CIDRs) allows
 * connecting to `ip` for `host`.
 */
export function allowedInternal(host: string, ip: string, allow: readonly string[]): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");
  const p = parse(ip);
  return allow.some((raw) => {
    const a = raw.trim().toLowerCase();
    if (!a) return false;
    if (a.includes("/")) return p !== null && inCidr(p, a);
    if (isIP(a)) {
      const q = parse(a);
      return p !== null && q !== null && q.family === p.family && q.value === p.value;
    }
    if (a.startsWith("*.")) return h.endsWith(a.slice(1)) && h.length > a.length - 1;
    return h === a;
  });
}

export class DestinationRefused extends Error {
  override name = "DestinationRefused";
}

/**
 * The address to connect to for `url`: its host resolved, every address checked. Throws DestinationRefused
 * naming the address and its range when one is internal and not allowed (all of a name's addresses must
 * pass: the system picks among them).
 */
export async function resolveDestination(url: URL, allow: readonly string[], resolve = (host: string) => lookup(host, { all: true, verbatim: true })): Promise<{ address: string; family: 4 | 6 }> {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const addresses = isIP(host) ? [{ address: host, family: isIP(host) as 4 | 6 }] : (await resolve(host)).map((a) => ({ address: a.address, family: a.family as 4 | 6 }));
  if (addresses.length === 0) throw new DestinationRefused(`${host} does not resolve to any address`);
  for (const a of addresses) {
    const range = internalRange(a.address);
    if (range && !allowedInternal(host, a.address, allow)) {
      const via = a.address === host ? "" : ` (it resolves to ${a.address})`;
      throw new DestinationRefused(
        `refused to connect to ${host}${via}: ${range}; http tasks reach only public addresses unless an admin allows this one with --http-allow`,
      );
    }
  }
  return addresses[0]!;
}
