import { readFileSync } from 'node:fs';
import { openApiDocument } from '../openapi.js';
import type { GetRoute } from '../router.js';
import type { Schemas } from '../schemas.js';
import { PACKAGE_ROOT } from './page.js';

/** GET /openapi.json, rendered once: the schemas and the version do not change while the server runs. */
export function openApiRoute(schemas: Schemas): GetRoute {
  const version = (JSON.parse(readFileSync(new URL('package.json', PACKAGE_ROOT), 'utf8')) as { version: string }).version;
  const body = JSON.stringify(openApiDocument(schemas, version));
  return { method: 'GET', get: () => ({ status: 200, type: 'application/json; charset=utf-8', body }) };
}
