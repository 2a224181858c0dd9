import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import { SemsearchError } from '../errors.js';

/** The request body, refused with REQUEST_TOO_LARGE as soon as it is known to be over `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(new SemsearchError('REQUEST_TOO_LARGE', `the request body has ${declared} bytes; the server accepts at most ${limit}`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > limit) {
        req.off('data', onData);
        chunks.length = 0;
        reject(new SemsearchError('REQUEST_TOO_LARGE', `the request body is over ${limit} bytes, the most the server accepts`));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function parseJson(buf: Buffer, contentType: string | undefined): unknown {
  // A body without a JSON type is refused even when it parses: a form a foreign page posts (text/plain, no
  // preflight) must not reach the API.
  if (contentType === undefined || !/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(contentType)) {
    throw new SemsearchError('UNSUPPORTED_MEDIA_TYPE', `the body must be JSON sent as Content-Type: application/json, got ${contentType === undefined ? 'no Content-Type' : contentType.slice(0, 100)}`);
  }
  // JSON is UTF-8 (RFC 8259): other bytes are refused, not decoded to U+FFFD and stored changed.
  if (!isUtf8(buf)) throw new SemsearchError('INVALID_JSON', 'the request body is not valid UTF-8; JSON is sent as UTF-8 and semsearch replaces nothing');
  const text = buf.toString('utf8');
  if (text.trim() === '') throw new SemsearchError('INVALID_JSON', 'the request body is empty; send a JSON object');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SemsearchError('INVALID_JSON', `the request body is not valid JSON: ${(e as Error).message}`);
  }
}
