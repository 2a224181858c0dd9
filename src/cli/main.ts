#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { isSemsearchError } from '../errors.js';
import type { CliIO, Command } from './command.js';
import { COMMANDS } from './commands/registry.js';

function usage(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `usage: semsearch <command> [options]\n\n${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}\n\nRun 'semsearch <command> --help' for a command's options.\n`;
}

/** Run the CLI; errors become one line on stderr and exit code 2 (usage) or 1 (failure), never a stack. */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage(COMMANDS));
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (cmd === undefined) {
    io.stderr.write(`semsearch: unknown command '${name}'\n\n${usage(COMMANDS)}`);
    return 2;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    if (isSemsearchError(e)) {
      io.stderr.write(`semsearch ${name}: ${e.code}: ${e.message}\n`);
      return e.code === 'INVALID_ARGUMENT' ? 2 : 1;
    }
    io.stderr.write(`semsearch ${name}: unexpected error: ${(e as Error).message}\n`);
    return 1;
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
