// The Chromium that the search page test drives, so that `npm ci && npm test` is the whole set-up: no apt-get, and
// nothing downloaded at install or test time. The devDependency @sparticuz/chromium carries a headless Chromium for
// Linux x64 inside its npm tarball (bin/chromium.br, brotli), with the NSS libraries it links against
// (bin/al2023.tar.br) and a font (bin/fonts.tar.br); it has no install script. We unpack those once per package
// version into node_modules/.cache and hand the binary to playwright-core, which never downloads a browser itself.
// Not the package's own executablePath(): that unpacks to a fixed /tmp/chromium (whatever version is already there
// is used, and so is a half-written one left by an interrupted run) and sets up the libraries only on AWS Lambda.
// CHROMIUM_PATH picks another Chromium instead, run as it is with the system's libraries and fonts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { brotliDecompressSync, createBrotliDecompress } from 'node:zlib';
import { chromium, type BrowserContext } from 'playwright-core';

/** Flags that keep Chromium off the network (no updates, sync or background requests) and runnable as root in CI. */
export const OFFLINE_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export interface TestChromium {
  executablePath: string;
  /** The environment to start it with. */
  env: Record<string, string | undefined>;
}

/** CHROMIUM_PATH when set, else the Chromium shipped in @sparticuz/chromium (unpacked on first use, about 210 MB). */
export async function testChromium(): Promise<TestChromium> {
  const given = process.env['CHROMIUM_PATH'];
  if (given !== undefined && given !== '') {
    if (!existsSync(given)) assert.fail(`CHROMIUM_PATH is ${given}, which does not exist`);
    return { executablePath: given, env: { ...process.env } };
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    assert.fail(`@sparticuz/chromium ships Chromium for Linux x64 only; on ${process.platform}-${process.arch} set CHROMIUM_PATH to a Chromium`);
  }
  const dir = await unpacked();
  const ld = process.env['LD_LIBRARY_PATH'];
  return {
    executablePath: join(dir, 'chromium'),
    env: {
      ...process.env,
      LD_LIBRARY_PATH: ld ? `${join(dir, 'lib')}:${ld}` : join(dir, 'lib'),
      FONTCONFIG_FILE: join(dir, 'fonts.conf'),
    },
  };
}

/** A persistent headless context in `profile` on testChromium(), with OFFLINE_ARGS. */
export async function launchTestChromium(profile: string, viewport: { width: number; height: number }): Promise<BrowserContext> {
  const { executablePath, env } = await testChromium();
  return chromium.launchPersistentContext(profile, { executablePath, env, headless: true, viewport, args: OFFLINE_ARGS });
}

/** The package's folder: it exports only its entry point (somewhere under build/), and bin/ is beside build/. */
function packageRoot(): string {
  let dir = dirname(createRequire(import.meta.url).resolve('@sparticuz/chromium'));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'bin'))) {
    const up = dirname(dir);
    if (up === dir) assert.fail('cannot find the @sparticuz/chromium package folder');
    dir = up;
  }
  return dir;
}

async function unpacked(): Promise<string> {
  const pkg = packageRoot();
  const version = (JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { version: string }).version;
  const bin = join(pkg, 'bin');
  const cache = join(pkg, '..', '..', '.cache');
  const dir = join(cache, `semsearch-chromium-${version}`);
  if (existsSync(join(dir, 'chromium'))) return dir;

  // Unpack beside it and rename into place, so a run that stops half-way leaves no half-written browser behind.
  mkdirSync(cache, { recursive: true });
  const tmp = mkdtempSync(`${dir}.partial-`);
  try {
    await pipeline(createReadStream(join(bin, 'chromium.br')), createBrotliDecompress(), createWriteStream(join(tmp, 'chromium'), { mode: 0o755 }));
    untar(join(bin, 'al2023.tar.br'), tmp); // lib/: libnss3, libnspr4, libexpat and the rest of what chromium links to
    untar(join(bin, 'fonts.tar.br'), tmp); // fonts/: Open Sans
    // The package's fonts.conf names Lambda's paths (/tmp/fonts, /var/task); this one names the unpacked fonts only.
    writeFileSync(
      join(tmp, 'fonts.conf'),
      `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n  <dir>${join(dir, 'fonts')}</dir>\n  <cachedir>${join(dir, 'fonts-cache')}</cachedir>\n</fontconfig>\n`,
    );
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (existsSync(join(dir, 'chromium'))) return dir; // another test process unpacked it first
    throw e;
  }
  return dir;
}

function untar(file: string, into: string): void {
  const r = spawnSync('tar', ['-x', '--no-same-owner', '-C', into], { input: brotliDecompressSync(readFileSync(file)), encoding: 'utf8' });
  if (r.status !== 0) assert.fail(`unpacking ${file}: tar exited with ${r.status ?? r.signal}: ${r.error?.message ?? r.stderr}`);
}
