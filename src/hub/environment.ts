import { homedir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';

/**
 * The hub settings huggingface_hub reads from the environment, with the same names, defaults and precedence
 * (huggingface_hub/constants.py), so one shell configures Python and semsearch alike. Read at call time, never cached:
 * a long-lived process that changes its environment sees the change on the next call.
 */
export interface HubEnvironment {
  /** Base URL of the hub, without a trailing slash. */
  endpoint: string;
  /** Root of the huggingface_hub cache (the folder holding models--owner--name). */
  cacheDir: string;
  offline: boolean;
  /** Token from HF_TOKEN, HUGGING_FACE_HUB_TOKEN or the token file, if any. */
  token: string | undefined;
  /** Time allowed for the hub to answer a metadata request (HEAD, API), in ms. */
  metadataTimeoutMs: number;
  /** Time allowed without a single byte while downloading a file, in ms. */
  downloadTimeoutMs: number;
  progressDisabled: boolean;
}

export type Env = Readonly<Record<string, string | undefined>>;

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

const TRUE_VALUES = new Set(['1', 'ON', 'YES', 'TRUE']);

function isTrue(value: string | undefined): boolean {
  return value !== undefined && TRUE_VALUES.has(value.toUpperCase());
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** `~` and `~/x` as Python's os.path.expanduser does; the cache paths users set usually start with it. */
function expandHome(p: string): string {
  if (p === '~') return homedir();
  if (p.startsWith('~/')) return join(homedir(), p.slice(2));
  return p;
}

function seconds(value: string | undefined, fallback: number): number {
  const n = value === undefined ? NaN : Number(value);
  return (Number.isFinite(n) && n > 0 ? n : fallback) * 1000;
}

export function hfHome(env: Env): string {
  const xdg = nonEmpty(env.XDG_CACHE_HOME) ?? join(homedir(), '.cache');
  return expandHome(nonEmpty(env.HF_HOME) ?? join(xdg, 'huggingface'));
}

/** The huggingface_hub cache folder the environment names (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub). */
export function hubCacheDir(env: Env = process.env): string {
  const explicit = nonEmpty(env.HF_HUB_CACHE) ?? nonEmpty(env.HUGGINGFACE_HUB_CACHE);
  return explicit !== undefined ? expandHome(explicit) : join(hfHome(env), 'hub');
}

function readTokenFile(path: string): string | undefined {
  try {
    return nonEmpty(readFileSync(path, 'utf8').trim());
  } catch {
    // No token file is the normal case for public models.
    return undefined;
  }
}

export function hubToken(env: Env): string | undefined {
  const fromEnv = nonEmpty(env.HF_TOKEN?.trim()) ?? nonEmpty(env.HUGGING_FACE_HUB_TOKEN?.trim());
  if (fromEnv !== undefined) return fromEnv;
  const tokenPath = nonEmpty(env.HF_TOKEN_PATH) ?? join(hfHome(env), 'token');
  return readTokenFile(expandHome(tokenPath));
}

export function readHubEnvironment(env: Env = process.env): HubEnvironment {
  return {
    endpoint: (nonEmpty(env.HF_ENDPOINT) ?? DEFAULT_ENDPOINT).replace(/\/+$/, ''),
    cacheDir: hubCacheDir(env),
    offline: isTrue(env.HF_HUB_OFFLINE) || isTrue(env.TRANSFORMERS_OFFLINE),
    token: hubToken(env),
    metadataTimeoutMs: seconds(env.HF_HUB_ETAG_TIMEOUT, 10),
    downloadTimeoutMs: seconds(env.HF_HUB_DOWNLOAD_TIMEOUT, 10),
    progressDisabled: isTrue(env.HF_HUB_DISABLE_PROGRESS_BARS),
  };
}
