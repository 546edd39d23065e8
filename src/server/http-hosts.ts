import net from 'node:net';

/** A host name as it appears in a Host header or an allowed-hosts entry: lower case, IPv6 in brackets. */
export interface HostName {
  name: string;
  /** The explicit port, or null when none was written. */
  port: number | null;
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'] as const;

/** Parses `name`, `name:port`, `[v6]`, `[v6]:port` (and a bare IPv6 address); null when it is none of these. */
export function parseHostName(value: string): HostName | null {
  const text = value.trim().toLowerCase();
  if (net.isIPv6(text)) return { name: `[${text}]`, port: null };
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9_.-]+?)\.?(?::(\d{1,5}))?$/.exec(text);
  if (!match) return null;
  const name = match[1]!;
  if (name.startsWith('[') && !net.isIPv6(name.slice(1, -1))) return null;
  const port = match[2] !== undefined ? Number(match[2]) : null;
  if (port !== null && port > 65535) return null;
  return { name, port };
}

/** A socket peer address on this machine's loopback interface (IPv4, IPv6, or IPv4-mapped). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  if (net.isIPv4(v4)) return v4.startsWith('127.');
  return address === '::1';
}

/** A bind address that only loopback clients can reach. */
export function isLoopbackBind(host: string): boolean {
  return host.toLowerCase() === 'localhost' || isLoopbackAddress(host);
}

/** A bind address that listens on every interface. */
export function isWildcardBind(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

export interface HostPolicyOptions {
  /** The address the server listens on, as given (`127.0.0.1`, `::1`, `0.0.0.0`, a name…). */
  bindHost: string;
  /** The port it listens on (known once it listens, when asked for port 0). */
  port: () => number;
  /** Extra host names (with an optional port) accepted in Host and Origin: reverse proxies, a 0.0.0.0 bind. */
  allowedHosts: readonly string[];
  /** Extra Origins accepted as written (`https://app.example`). */
  allowedOrigins: readonly string[];
}

/**
 * Which Host and Origin headers the server answers (DNS-rebinding defence). Its own bind
 * name with its port; the loopback names with its port on a loopback bind, and on a
 * wildcard bind when the request came from a loopback peer; and every configured name —
 * without a port it matches any port, with one only that port.
 */
export class HostPolicy {
  private readonly bindName: string | null;
  private readonly loopbackBind: boolean;
  private readonly wildcardBind: boolean;
  private readonly configured: HostName[];
  private readonly origins: Set<string>;

  constructor(private readonly options: HostPolicyOptions) {
    this.loopbackBind = isLoopbackBind(options.bindHost);
    this.wildcardBind = isWildcardBind(options.bindHost);
    this.bindName = this.wildcardBind ? null : (parseHostName(options.bindHost)?.name ?? null);
    this.configured = [];
    for (const entry of options.allowedHosts) {
      const parsed = parseHostName(entry);
      if (!parsed) throw new Error(`"${entry}" is not a host name (use name or name:port; IPv6 in brackets).`);
      this.configured.push(parsed);
    }
    this.origins = new Set(options.allowedOrigins.map((o) => o.trim().toLowerCase().replace(/\/+$/, '')));
  }

  /** The names (with this server's port) a client on a loopback peer may use. */
  private ownNames(peerIsLoopback: boolean): Set<string> {
    const names = new Set<string>();
    if (this.bindName) names.add(this.bindName);
    if (this.loopbackBind || (this.wildcardBind && peerIsLoopback)) for (const name of LOOPBACK_NAMES) names.add(name);
    return names;
  }

  /** `ports`: the port the client addressed, or both defaults when it wrote none in a Host header. */
  private allows(name: string, ports: readonly number[], peerIsLoopback: boolean): boolean {
    if (this.ownNames(peerIsLoopback).has(name) && ports.includes(this.options.port())) return true;
    return this.configured.some((entry) => entry.name === name && (entry.port === null || ports.includes(entry.port)));
  }

  /** Whether a request's Host header names this server. */
  hostAllowed(header: string | undefined, peerIsLoopback: boolean): boolean {
    const host = header === undefined ? null : parseHostName(header);
    if (!host) return false;
    return this.allows(host.name, host.port === null ? [80, 443] : [host.port], peerIsLoopback);
  }

  /** Whether a request's Origin header (when sent) is this server or an allowed one. */
  originAllowed(origin: string, peerIsLoopback: boolean): boolean {
    const normalized = origin.trim().toLowerCase();
    if (this.origins.has(normalized)) return true;
    let url: URL;
    try {
      url = new URL(normalized);
    } catch {
      return false;
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin === 'null') return false;
    const port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    return this.allows(url.hostname, [port], peerIsLoopback);
  }
}
