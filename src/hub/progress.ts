/**
 * Download progress: events for callers that draw their own, and a one-line bar with bytes, speed and ETA for a human
 * at a terminal. Nothing at all is written when stderr is a pipe or a file, so logs and CI output stay clean.
 */
export interface DownloadProgress {
  repoId: string;
  /** The file being transferred now. */
  file: string;
  /** Bytes of the model already on disk, this run's and earlier runs'. */
  downloadedBytes: number;
  /** Bytes of all the files this call downloads. */
  totalBytes: number;
  filesDone: number;
  filesTotal: number;
}

export type ProgressListener = (p: DownloadProgress) => void;

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(chunk: string): unknown;
}

/** Bytes in the unit that keeps the number readable: decimal (kB, as downloads count) or binary (KiB, as disks do). */
export function formatBytes(n: number, options: { binary?: boolean } = {}): string {
  const base = options.binary === true ? 1024 : 1000;
  const units = options.binary === true ? ['B', 'KiB', 'MiB', 'GiB', 'TiB'] : ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= base && i < units.length - 1) {
    v /= base;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[i]}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (x: number): string => String(x).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

export interface BarOptions {
  /** Clock in ms; injectable so tests can check speed and ETA. */
  now?: () => number;
  /** Minimum time between two redraws, in ms. */
  intervalMs?: number;
}

export interface ProgressBar {
  update: ProgressListener;
  finish: () => void;
}

/**
 * A bar on `stream` when it is a terminal; otherwise a no-op. Speed is measured from the first update, over the bytes
 * this run moved, so a resumed download does not claim a speed it never had.
 */
export function createProgressBar(stream: ProgressStream, options: BarOptions = {}): ProgressBar {
  if (stream.isTTY !== true) return { update: () => undefined, finish: () => undefined };
  const now = options.now ?? Date.now;
  const intervalMs = options.intervalMs ?? 100;
  let start: { t: number; bytes: number } | undefined;
  let lastDraw = -Infinity;
  let last: DownloadProgress | undefined;
  let drawn = false;

  const draw = (p: DownloadProgress): void => {
    const t = now();
    start ??= { t, bytes: p.downloadedBytes };
    const elapsed = (t - start.t) / 1000;
    const moved = p.downloadedBytes - start.bytes;
    const speed = elapsed > 0 ? moved / elapsed : 0;
    const left = p.totalBytes - p.downloadedBytes;
    const eta = left <= 0 ? 0 : speed > 0 ? left / speed : Infinity;
    const pct = p.totalBytes > 0 ? Math.floor((100 * p.downloadedBytes) / p.totalBytes) : 100;
    const width = 20;
    const filled = Math.min(width, Math.floor((pct / 100) * width));
    const bar = '█'.repeat(filled) + ' '.repeat(width - filled);
    let line =
      `${p.repoId} ${p.file} ${String(pct).padStart(3)}% |${bar}| ${formatBytes(p.downloadedBytes)}/${formatBytes(p.totalBytes)}` +
      ` ${formatBytes(Math.round(speed))}/s ETA ${formatDuration(eta)}`;
    const columns = stream.columns ?? 0;
    if (columns > 10 && line.length >= columns) line = `…${line.slice(line.length - columns + 2)}`;
    stream.write(`\r${line}\x1b[K`);
    drawn = true;
    lastDraw = t;
  };

  return {
    update(p) {
      last = p;
      start ??= { t: now(), bytes: p.downloadedBytes };
      if (now() - lastDraw >= intervalMs || p.downloadedBytes >= p.totalBytes) draw(p);
    },
    finish() {
      if (last !== undefined) draw(last);
      if (drawn) stream.write('\n');
    },
  };
}
