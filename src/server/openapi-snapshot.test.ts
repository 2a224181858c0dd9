// The OpenAPI document the server serves at /openapi.json, held to a snapshot taken from the schemas as they were
// built before they were split into one definition per route (issue 30): the split changed no schema. The snapshot is
// for the default limits and for small ones (every limit shows in the schemas as a maximum or in a description).
// A deliberate change to a schema regenerates it: the document for each set of limits below, as JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { openApiDocument } from './openapi.js';
import { buildSchemas, DEFAULT_LIMITS } from './schemas.js';

const SNAPSHOT = JSON.parse(readFileSync(new URL('./fixtures/openapi.json', import.meta.url), 'utf8')) as Record<string, unknown>;

test('/openapi.json is the snapshot, for the default limits and for small ones', () => {
  const got = {
    default: openApiDocument(buildSchemas(DEFAULT_LIMITS), '0.0.0-test'),
    small: openApiDocument(buildSchemas({ maxBodyBytes: 1000, maxTexts: 3, maxTextChars: 10, maxK: 20, maxRerankPairs: 7 }), '0.0.0-test'),
  };
  // Byte for byte, key order included, as the route sends it.
  assert.equal(JSON.stringify(got), JSON.stringify(SNAPSHOT));
});
