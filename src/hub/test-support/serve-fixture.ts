// Starts the hub look-alike with the fixture model and prints one JSON line (endpoint, repo id, commits, and the
// sha256 of every file), then serves until stdin closes or SIGTERM. Used by tools/reference/hub_interop.py.
// Usage: node --import tsx serve-fixture.ts [workdir]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeFixture } from './fixture.js';
import { sha256, startHubServer } from './hub-server.js';

const root = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'semsearch-hub-'));
const fixture = makeFixture(root);
const server = await startHubServer([fixture.repo]);
const sums = Object.fromEntries([...fixture.files].map(([p, c]) => [p, sha256(c)]));
console.log(
  JSON.stringify({
    endpoint: server.endpoint,
    cdn: server.cdnEndpoint,
    repoId: fixture.repo.id,
    commit: fixture.commit,
    oldCommit: fixture.oldCommit,
    fixtureDir: fixture.dir,
    sha256: sums,
  }),
);
const stop = (): void => {
  void server.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
