import { PassThrough, Readable } from 'node:stream';
import { runCli } from '../main.js';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** Run the CLI in this process with captured output, as a user's shell would see it. */
export async function runCaptured(argv: string[], options: { stdin?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += String(d)));
  stderr.on('data', (d) => (err += String(d)));
  const code = await runCli(argv, { stdout, stderr, stdin: Readable.from([options.stdin ?? '']), env: options.env ?? {} });
  return { code, out, err };
}
