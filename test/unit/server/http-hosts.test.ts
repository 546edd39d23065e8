import { describe, expect, it } from 'vitest';
import { HostPolicy, isLoopbackAddress, isLoopbackBind, parseHostName } from '../../../src/server/http-hosts.js';

const PORT = 8765;
const policy = (bindHost: string, allowedHosts: string[] = [], allowedOrigins: string[] = []) => new HostPolicy({ bindHost, port: () => PORT, allowedHosts, allowedOrigins });

describe('parseHostName', () => {
  it('reads names, ports and IPv6 in brackets, and nothing else', () => {
    expect(parseHostName('Example.COM:8443')).toEqual({ name: 'example.com', port: 8443 });
    expect(parseHostName('example.com.')).toEqual({ name: 'example.com', port: null });
    expect(parseHostName('[::1]:80')).toEqual({ name: '[::1]', port: 80 });
    expect(parseHostName('::1')).toEqual({ name: '[::1]', port: null });
    for (const bad of ['', 'http://x', 'x/y', 'a b', '[zz]:1', 'x:99999', 'user@host']) expect(parseHostName(bad)).toBeNull();
  });
});

describe('loopback', () => {
  it('knows loopback peers and binds', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) expect(isLoopbackAddress(a)).toBe(true);
    for (const a of ['10.0.0.1', '::ffff:10.0.0.1', '0.0.0.0', '::', undefined]) expect(isLoopbackAddress(a)).toBe(false);
    expect(isLoopbackBind('localhost')).toBe(true);
    expect(isLoopbackBind('0.0.0.0')).toBe(false);
  });
});

describe('HostPolicy', () => {
  it('on a loopback bind: the loopback names with its port, from any peer', () => {
    const p = policy('127.0.0.1');
    for (const h of [`localhost:${PORT}`, `127.0.0.1:${PORT}`, `[::1]:${PORT}`]) expect(p.hostAllowed(h, true)).toBe(true);
    expect(p.hostAllowed('localhost:9999', true)).toBe(false);
    expect(p.hostAllowed('localhost', true)).toBe(false);
    expect(p.hostAllowed(`evil.example:${PORT}`, true)).toBe(false);
    expect(p.hostAllowed(undefined, true)).toBe(false);
  });

  it('on a 0.0.0.0 bind: loopback names only from a loopback peer, configured names from anyone', () => {
    const p = policy('0.0.0.0', ['mcp.example.test', 'alt.example.test:8443']);
    expect(p.hostAllowed(`localhost:${PORT}`, true)).toBe(true);
    expect(p.hostAllowed(`localhost:${PORT}`, false)).toBe(false);
    expect(p.hostAllowed(`127.0.0.1:${PORT}`, false)).toBe(false);
    expect(p.hostAllowed(`0.0.0.0:${PORT}`, true)).toBe(false);
    expect(p.hostAllowed('mcp.example.test', false)).toBe(true);
    expect(p.hostAllowed('mcp.example.test:1234', false)).toBe(true);
    expect(p.hostAllowed('alt.example.test:8443', false)).toBe(true);
    expect(p.hostAllowed('alt.example.test:8444', false)).toBe(false);
    expect(p.hostAllowed('sub.mcp.example.test', false)).toBe(false);
  });

  it('checks Origin against the same list, with its scheme\'s default port', () => {
    const p = policy('0.0.0.0', ['mcp.example.test', 'alt.example.test:443'], ['https://App.example/']);
    expect(p.originAllowed('https://mcp.example.test', false)).toBe(true);
    expect(p.originAllowed('https://alt.example.test', false)).toBe(true);
    expect(p.originAllowed('http://alt.example.test', false)).toBe(false);
    expect(p.originAllowed(`http://localhost:${PORT}`, true)).toBe(true);
    expect(p.originAllowed(`http://localhost:${PORT}`, false)).toBe(false);
    expect(p.originAllowed('http://localhost:3000', true)).toBe(false);
    expect(p.originAllowed('https://app.example', false)).toBe(true);
    for (const bad of ['null', 'file://', 'chrome-extension://abc', 'https://evil.example']) expect(p.originAllowed(bad, true)).toBe(false);
  });

  it('refuses a malformed configured name', () => {
    expect(() => policy('127.0.0.1', ['https://x.example/'])).toThrow(/not a host name/);
  });
});
