import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { SemsearchError } from '../errors.js';

/** The shortest token the server takes: a guessable one protects nothing. */
export const MIN_TOKEN_LENGTH = 16;

/**
 * Whether an address reaches this machine only: 127.0.0.0/8, ::1 (and 127.x written as IPv4-mapped IPv6), or the
 * name localhost. Anything else (0.0.0.0, ::, a LAN address, another host name) may be reachable from elsewhere.
 */
export function isLoopback(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice('::ffff:'.length) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** A token as given (a file's contents, an environment variable), checked: what a client sends after "Bearer ". */
export function checkToken(token: unknown, where: string): string {
  if (typeof token !== 'string') throw new SemsearchError('INVALID_ARGUMENT', `${where} must be a string`, { field: 'token' });
  // RFC 6750's token68 characters, so that the token goes into an Authorization header as it is.
  if (!/^[A-Za-z0-9\-._~+/]+=*$/.test(token)) {
    throw new SemsearchError('INVALID_ARGUMENT', `${where} must be letters, digits and - . _ ~ + / (then = padding), as a bearer token is sent; it is ${token === '' ? 'empty' : 'not'}`, { field: 'token' });
  }
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new SemsearchError('INVALID_ARGUMENT', `${where} has ${token.length} characters; a token needs at least ${MIN_TOKEN_LENGTH} (for example: openssl rand -hex 32)`, { field: 'token' });
  }
  return token;
}

/** Refuse to expose writes on an address other machines may reach without a token, unless told to. */
export function checkWriteExposure(o: { host: string; readOnly: boolean; token: string | undefined; insecureWrites: boolean }): void {
  if (o.readOnly || o.token !== undefined || o.insecureWrites || isLoopback(o.host)) return;
  throw new SemsearchError(
    'UNPROTECTED_WRITES',
    `serving on ${o.host} would let any machine that reaches it add and delete documents (POST /documents, DELETE /documents/{id}) without a token. ` +
      'Give a token (--token-file <file> or the SEMSEARCH_TOKEN environment variable; createServer: token), ' +
      'serve read-only (--read-only; readOnly: true), or pass --insecure-writes (insecureWrites: true) if open writes are meant',
    { field: 'host' },
  );
}

export type AuthResult = 'ok' | 'missing' | 'wrong';

/**
 * A checker of Authorization headers against the token. Both sides are hashed to equal-length digests before the
 * constant-time comparison, so neither the token's length nor how much of it matched shows in the time taken.
 */
export function bearerChecker(token: string): (header: string | undefined) => AuthResult {
  const want = createHash('sha256').update(token).digest();
  return (header) => {
    const m = header === undefined ? null : /^\s*bearer\s+(\S+)\s*$/i.exec(header);
    if (m === null) return 'missing';
    const got = createHash('sha256').update(m[1] as string).digest();
    return timingSafeEqual(got, want) ? 'ok' : 'wrong';
  };
}
