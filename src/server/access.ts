import type { IncomingMessage } from 'node:http';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** The host part of a Host header, lower-cased and without the port or IPv6 brackets. */
function hostOf(header: string | undefined): string | undefined {
  if (header === undefined || header === '') return undefined;
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') > 0 ? h.indexOf(']') : undefined);
  return h.replace(/:\d+$/, '');
}

/**
 * Which Host headers to serve. Bound to one address: that address and any configured name (with localhost and the
 * loopback literals when the address is loopback). Bound to all interfaces: any IP literal too, since DNS rebinding
 * needs a name, never an address.
 */
export function hostChecker(bound: string, allowed: readonly string[]): (header: string | undefined) => boolean {
  const names = new Set([bound.toLowerCase(), ...allowed.map((a) => a.toLowerCase())]);
  if (LOOPBACK.has(bound)) for (const l of LOOPBACK) names.add(l);
  const anyInterface = bound === '0.0.0.0' || bound === '::';
  return (header) => {
    const h = hostOf(header);
    if (h === undefined) return false;
    return names.has(h) || (anyInterface && (IPV4.test(h) || h.includes(':')));
  };
}

/** CORS headers for an allowed Origin; none otherwise (the browser then keeps the answer from the page). */
export function corsPolicy(origins: readonly string[]): (req: IncomingMessage) => Record<string, string> {
  const allowed = new Set(origins);
  return (req): Record<string, string> => {
    const origin = req.headers.origin;
    if (origin === undefined || !(allowed.has('*') || allowed.has(origin))) return {};
    return { 'Access-Control-Allow-Origin': allowed.has('*') ? '*' : origin, Vary: 'Origin' };
  };
}
