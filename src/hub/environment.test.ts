import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_ENDPOINT, readHubEnvironment } from './environment.js';

test('defaults match huggingface_hub: hub endpoint, ~/.cache/huggingface/hub, online, 10 s timeouts', () => {
  const env = readHubEnvironment({ HF_TOKEN_PATH: join(tmpdir(), 'semsearch-no-such-token') });
  assert.equal(env.endpoint, DEFAULT_ENDPOINT);
  assert.equal(env.cacheDir, join(homedir(), '.cache', 'huggingface', 'hub'));
  assert.equal(env.offline, false);
  assert.equal(env.token, undefined);
  assert.equal(env.metadataTimeoutMs, 10_000);
  assert.equal(env.downloadTimeoutMs, 10_000);
});

test('cache folder precedence: HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, HF_HOME/hub, XDG_CACHE_HOME/huggingface/hub', () => {
  const all = { HF_HUB_CACHE: '/a', HUGGINGFACE_HUB_CACHE: '/b', HF_HOME: '/c', XDG_CACHE_HOME: '/d' };
  assert.equal(readHubEnvironment(all).cacheDir, '/a');
  assert.equal(readHubEnvironment({ ...all, HF_HUB_CACHE: undefined }).cacheDir, '/b');
  assert.equal(readHubEnvironment({ HF_HOME: '/c', XDG_CACHE_HOME: '/d' }).cacheDir, join('/c', 'hub'));
  assert.equal(readHubEnvironment({ XDG_CACHE_HOME: '/d' }).cacheDir, join('/d', 'huggingface', 'hub'));
  assert.equal(readHubEnvironment({ HF_HUB_CACHE: '~/hfcache' }).cacheDir, join(homedir(), 'hfcache'));
});

test('HF_ENDPOINT loses its trailing slash; HF_HUB_OFFLINE and TRANSFORMERS_OFFLINE take 1/ON/YES/TRUE', () => {
  assert.equal(readHubEnvironment({ HF_ENDPOINT: 'http://127.0.0.1:9/' }).endpoint, 'http://127.0.0.1:9');
  for (const v of ['1', 'on', 'YES', 'true']) assert.equal(readHubEnvironment({ HF_HUB_OFFLINE: v }).offline, true, v);
  for (const v of ['0', 'false', '']) assert.equal(readHubEnvironment({ HF_HUB_OFFLINE: v }).offline, false, v);
  assert.equal(readHubEnvironment({ TRANSFORMERS_OFFLINE: '1' }).offline, true);
});

test('token: HF_TOKEN, then HUGGING_FACE_HUB_TOKEN, then the token file under HF_HOME (or HF_TOKEN_PATH)', () => {
  const home = mkdtempSync(join(tmpdir(), 'semsearch-env-'));
  writeFileSync(join(home, 'token'), 'hf_fromfile\n');
  assert.equal(readHubEnvironment({ HF_HOME: home, HF_TOKEN: 'hf_env', HUGGING_FACE_HUB_TOKEN: 'hf_old' }).token, 'hf_env');
  assert.equal(readHubEnvironment({ HF_HOME: home, HUGGING_FACE_HUB_TOKEN: 'hf_old' }).token, 'hf_old');
  assert.equal(readHubEnvironment({ HF_HOME: home }).token, 'hf_fromfile');
  writeFileSync(join(home, 'other'), 'hf_other');
  assert.equal(readHubEnvironment({ HF_HOME: home, HF_TOKEN_PATH: join(home, 'other') }).token, 'hf_other');
  rmSync(home, { recursive: true, force: true });
});

test('timeouts from HF_HUB_ETAG_TIMEOUT and HF_HUB_DOWNLOAD_TIMEOUT, in seconds', () => {
  const env = readHubEnvironment({ HF_HUB_ETAG_TIMEOUT: '2.5', HF_HUB_DOWNLOAD_TIMEOUT: '30', HF_HUB_DISABLE_PROGRESS_BARS: '1' });
  assert.equal(env.metadataTimeoutMs, 2500);
  assert.equal(env.downloadTimeoutMs, 30_000);
  assert.equal(env.progressDisabled, true);
});

test('the environment is read at each call, not once at import', () => {
  const env: Record<string, string | undefined> = { HF_HUB_OFFLINE: '0' };
  assert.equal(readHubEnvironment(env).offline, false);
  env.HF_HUB_OFFLINE = '1';
  assert.equal(readHubEnvironment(env).offline, true);
});
