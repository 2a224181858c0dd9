#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { isSemsearchError, SemsearchError } from '../errors.js';
import { packageVersion, type CliIO } from './command.js';
import { COMMANDS, type CommandEntry } from './commands/registry.js';

function usage(commands: readonly CommandEntry[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `usage: semsearch <command> [options]\n\n${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}\n\nRun 'semsearch <command> --help' for a command's options; 'semsearch --version' for the version.\n`;
}

/** An error as the user sees it: one line, or under --json one JSON object with the code and where. */
function reportError(io: CliIO, command: string, e: unknown, json: boolean): number {
  if (isSemsearchError(e)) {
    if (json) {
      const where = { ...(e.file !== undefined ? { file: e.file } : {}), ...(e.line !== undefined ? { line: e.line } : {}), ...(e.field !== undefined ? { field: e.field } : {}) };
      io.stderr.write(JSON.stringify({ error: { command, code: e.code, message: e.message, ...where } }) + '\n');
    } else io.stderr.write(`semsearch ${command}: ${e.code}: ${e.message}\n`);
    return e.code === 'INVALID_ARGUMENT' ? 2 : 1;
  }
  const message = (e as Error)?.message ?? String(e);
  const errno = String((e as { code?: unknown } | null)?.code ?? '');
  // A full disk is said as one whatever wrote; anything else uncoded is semsearch's own failure, not the input's or
  // the index's, and is said so (never "unexpected", which leaves a user wondering whether the index is hurt).
  const [code, text] =
    errno === 'ENOSPC' || errno === 'EDQUOT'
      ? (['DISK_FULL', `the disk is full (${message}); free space and run it again`] as const)
      : (['INTERNAL_ERROR', `semsearch failed (${message}); this is not a problem with the input or the index: please report it`] as const);
  if (json) io.stderr.write(JSON.stringify({ error: { command, code, message: text } }) + '\n');
  else io.stderr.write(`semsearch ${command}: ${code}: ${text}\n`);
  return 1;
}

/** Run the CLI; errors become one line on stderr (JSON under --json) and exit code 2 (usage) or 1 (failure), never a stack. */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage(COMMANDS));
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    io.stdout.write(`semsearch ${await packageVersion()}\n`);
    return 0;
  }
  const json = argv.includes('--json');
  const cmd = COMMANDS.find((c) => c.name === name);
  if (cmd === undefined) {
    if (json) return reportError(io, name, new SemsearchError('INVALID_ARGUMENT', `unknown command '${name}'; known: ${COMMANDS.map((c) => c.name).join(', ')}`, { field: name }), true);
    io.stderr.write(`semsearch: unknown command '${name}'\n\n${usage(COMMANDS)}`);
    return 2;
  }
  try {
    return await (await cmd.load()).run(rest, io);
  } catch (e) {
    return reportError(io, name, e, json);
  }
}

// Through npm's bin symlink argv[1] is the link, so compare real paths.
const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (isMain) {
  // A reader that stops early (`| head`) closes the pipe: stop quietly, as Unix tools do, instead of an
  // unhandled EPIPE with a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(0);
      throw e;
    });
  }
  const code = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env });
  process.exitCode = code;
}
