import { formatDuration } from '../hub/progress.js';

export interface ProgressOutput {
  isTTY?: boolean;
  write(chunk: string): unknown;
}

export interface ProgressOptions {
  /** Clock in ms; injectable so tests can check the pacing. */
  now?: () => number;
  /** Off a terminal: at most one line per this many ms (default 10 s), so logs stay short. */
  lineEveryMs?: number;
  /** On a terminal: at most one redraw per this many ms (default 100). */
  redrawEveryMs?: number;
  /** finish() draws the last state 'always' (default), or only 'if-shown': when a line was drawn before. */
  finalLine?: 'always' | 'if-shown';
}

export interface Progress {
  /** `done` of `total` items (total may be unknown); `label` names the phase, e.g. "documents". */
  update(label: string, done: number, total?: number): void;
  /** Draw the last state once more and end the line. */
  finish(): void;
}

/**
 * Progress of a long command on stderr. At a terminal: one line redrawn in place, a bar, the rate and an ETA.
 * Elsewhere (a pipe, a log file, CI): a plain line every few seconds, so a long run is never silent and its log
 * is never flooded.
 */
export function createProgress(out: ProgressOutput, unit: string, options: ProgressOptions = {}): Progress {
  const tty = out.isTTY === true;
  const now = options.now ?? Date.now;
  const every = tty ? (options.redrawEveryMs ?? 100) : (options.lineEveryMs ?? 10_000);
  let last: { label: string; done: number; total: number | undefined } | undefined;
  let phaseStart: { label: string; t: number; done: number } | undefined;
  let lastWrite = -Infinity;
  let open = false;
  let shown = false;
  /** The state last drawn: a batch reported twice (a batch, then the chunk it ends) is drawn once. */
  let drawn = '';

  const render = (): string => {
    const p = last as { label: string; done: number; total: number | undefined };
    const start = phaseStart as { t: number; done: number };
    const secs = (now() - start.t) / 1000;
    const rate = secs > 0 ? (p.done - start.done) / secs : 0;
    const parts = [`${p.label}: ${p.done}${p.total !== undefined ? `/${p.total}` : ''} ${unit}`];
    let bar = '';
    if (p.total !== undefined && p.total > 0) {
      const frac = Math.min(1, p.done / p.total);
      if (tty) bar = `[${'#'.repeat(Math.round(frac * 20)).padEnd(20, '.')}] ${String(Math.floor(frac * 100)).padStart(3)}% `;
      else parts[0] += ` (${Math.floor(frac * 100)}%)`;
    }
    if (rate > 0) parts.push(`${rate.toFixed(1)} ${unit}/s`);
    if (p.total !== undefined && rate > 0) parts.push(`ETA ${formatDuration(Math.max(0, p.total - p.done) / rate)}`);
    return bar + parts.join(', ');
  };

  const write = (): void => {
    lastWrite = now();
    shown = true;
    drawn = `${last?.label}\0${last?.done}`;
    if (tty) {
      out.write(`\r${render()}\x1b[K`);
      open = true;
    } else out.write(`${render()}\n`);
  };

  return {
    update(label, done, total) {
      if (phaseStart === undefined || phaseStart.label !== label) {
        if (open) out.write('\n');
        open = false;
        phaseStart = { label, t: now(), done };
        lastWrite = -Infinity;
      }
      last = { label, done, total };
      // Off a terminal the first line waits one interval: a command done in seconds prints nothing.
      if (!tty && lastWrite === -Infinity) lastWrite = now();
      if (now() - lastWrite >= every && drawn !== `${label}\0${done}`) write();
    },
    finish() {
      // The final state always, also off a terminal: the log ends with what was done.
      const again = !tty && drawn === `${last?.label}\0${last?.done}`;
      if (last !== undefined && (options.finalLine !== 'if-shown' || shown) && !again) write();
      if (open) out.write('\n');
      open = false;
    },
  };
}

/**
 * Off a terminal, the milliseconds between progress lines when SEMSEARCH_PROGRESS_MS is set (a whole number, 0 or
 * more; 0: a line per batch), else the default 10 s: a CI log can ask for more or fewer lines.
 */
export const PROGRESS_ENV = 'SEMSEARCH_PROGRESS_MS';

/** A command's progress on its stderr, paced by SEMSEARCH_PROGRESS_MS off a terminal (see createProgress). */
export function commandProgress(io: { stderr: NodeJS.WritableStream; env: NodeJS.ProcessEnv }, unit: string, options: ProgressOptions = {}): Progress {
  const raw = io.env[PROGRESS_ENV];
  const ms = raw !== undefined && /^\d+$/.test(raw.trim()) ? Number(raw) : undefined;
  return createProgress(io.stderr as ProgressOutput, unit, { ...options, ...(ms !== undefined ? { lineEveryMs: ms } : {}) });
}
