import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { isSemsearchError } from '../errors.js';
import { defineCommand, parseCommandLine, type Command } from './command.js';
import { COMMANDS } from './commands/registry.js';
import { runCaptured, type CliRun } from './test-support/run-cli.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const run = (argv: string[]): Promise<CliRun> => runCaptured(argv);

test('--version prints the package version, at the top and after any command', async () => {
  for (const argv of [['--version'], ...COMMANDS.map((c) => [c.name, '--version'])]) {
    const r = await run(argv);
    assert.equal(r.code, 0, argv.join(' '));
    assert.equal(r.out, `semsearch ${VERSION}\n`, argv.join(' '));
  }
});

const loaded = (): Promise<Command[]> => Promise.all(COMMANDS.map((c) => c.load()));

test('the registry names each command as its module does, and loads each module only when asked', async () => {
  assert.deepEqual((await loaded()).map((c) => c.name), COMMANDS.map((c) => c.name));
  const main = readFileSync(new URL('./main.ts', import.meta.url), 'utf8');
  const registry = readFileSync(new URL('./commands/registry.ts', import.meta.url), 'utf8');
  assert.doesNotMatch(registry, /^import (?!type )/m, 'the registry imports a command module up front');
  assert.doesNotMatch(main, /^import (?!type ).*from '\.\.\/(?!errors)/m, 'main.ts imports library code up front');
});

test('every command has --help, --json and --version; --help lists each of its options', async () => {
  for (const c of await loaded()) {
    for (const common of ['help', 'json', 'version']) assert.ok(common in c.options, `${c.name} --${common}`);
    const r = await run([c.name, '--help']);
    assert.equal(r.code, 0);
    assert.match(r.out, new RegExp(`^usage: semsearch ${c.name}`));
    for (const name of Object.keys(c.options)) assert.match(r.out, new RegExp(`--${name}( |\n)`), `${c.name} --${name}`);
  }
});

test('a flag means the same in every command: one type and letter per long name, one long name per letter', async () => {
  const byName = new Map<string, { type: string; short: string | undefined; where: string }>();
  const byShort = new Map<string, { name: string; where: string }>();
  for (const c of await loaded()) {
    for (const [name, spec] of Object.entries(c.options)) {
      const seen = byName.get(name);
      if (seen !== undefined) {
        assert.equal(spec.type, seen.type, `--${name} is a ${spec.type} in ${c.name} but a ${seen.type} in ${seen.where}`);
        assert.equal(spec.short, seen.short, `--${name} has -${spec.short} in ${c.name} but -${seen.short} in ${seen.where}`);
      } else byName.set(name, { type: spec.type, short: spec.short, where: c.name });
      if (spec.short !== undefined) {
        const other = byShort.get(spec.short);
        if (other !== undefined) assert.equal(name, other.name, `-${spec.short} is --${name} in ${c.name} but --${other.name} in ${other.where}`);
        else byShort.set(spec.short, { name, where: c.name });
      }
    }
  }
  // The letter that used to mean --k in search and --depth in eval now means --k wherever it exists.
  assert.equal(byShort.get('k')?.name, 'k');
});

test('one concept, one flag: a cross-encoder is --cross-encoder and an output is -o, --out in every command', async () => {
  const crossEncoders: string[] = [];
  const outputs: string[] = [];
  for (const c of await loaded()) {
    for (const [name, spec] of Object.entries(c.options)) {
      // A string option whose value names a cross-encoder (numbers about one, e.g. --rerank-depth, are depths).
      if (spec.type === 'string' && /cross-encoder/i.test(spec.description)) {
        assert.equal(name, 'cross-encoder', `${c.name} --${name} names a cross-encoder`);
        crossEncoders.push(c.name);
      }
      // A string option that says where the command writes its output.
      if (spec.type === 'string' && /^write\b|folder to create/i.test(spec.description)) {
        assert.equal(name, 'out', `${c.name} --${name} is an output`);
        outputs.push(c.name);
      }
      if (name === 'out') assert.equal(spec.short, 'o', `${c.name} --out`);
      if (spec.short === 'o') assert.equal(name, 'out', `${c.name} -o`);
    }
  }
  assert.deepEqual(crossEncoders.sort(), ['eval', 'mine', 'search', 'serve']);
  assert.deepEqual(outputs.sort(), ['encode', 'eval', 'index', 'mine']);
});

/** Every deprecated spelling, where it is read, and the option it stands for. */
async function aliases(): Promise<{ command: string; alias: string; name: string; type: string }[]> {
  const out: { command: string; alias: string; name: string; type: string }[] = [];
  for (const c of await loaded()) {
    for (const [name, spec] of Object.entries(c.options)) for (const alias of spec.deprecated ?? []) out.push({ command: c.name, alias, name, type: spec.type });
  }
  return out;
}

test('the old spellings: never a current flag anywhere, each read as its option with a one-line hint on stderr', async () => {
  const list = await aliases();
  const current = new Set((await loaded()).flatMap((c) => Object.keys(c.options)));
  for (const a of list) assert.ok(!current.has(a.alias), `--${a.alias} (old ${a.command} --${a.name}) is also a current flag`);
  assert.deepEqual(
    list.map((a) => `${a.command} --${a.alias} → --${a.name}`).sort(),
    ['eval --rerank → --candidates', 'eval --rerank-with → --cross-encoder', 'eval --run-out → --out', 'search --rerank → --cross-encoder', 'serve --rerank → --cross-encoder'],
  );
  for (const a of list) {
    const cmd = (await loaded()).find((c) => c.name === a.command) as Command;
    const parsed = parseCommandLine([`--${a.alias}`, 'X'], cmd.options);
    assert.equal((parsed.values as Record<string, unknown>)[a.name], 'X', `${a.command} --${a.alias}`);
    assert.deepEqual(parsed.deprecated, [[a.alias, a.name]]);
    assert.equal(parseCommandLine([`--${a.alias}=Y`], cmd.options).values[a.name], 'Y');
    // Both spellings at once is a mistake, not a silent choice.
    assert.throws(() => parseCommandLine([`--${a.alias}`, 'X', `--${a.name}`, 'Z'], cmd.options), (e) => isSemsearchError(e, 'INVALID_ARGUMENT') && e.field === `--${a.alias}`);
    // --help names the old spelling beside the new one.
    assert.match((await run([a.command, '--help'])).out, new RegExp(`--${a.name} .*\\(was --${a.alias}, still read\\)`));
  }
  // Through the CLI: the hint, one line, then the command goes on with the value (here to its own error).
  const r = await run(['eval', '--rerank-with', '/nonexistent/ce', '--rerank-depth', '5', '--run', '/nonexistent/run', '--qrels', '/nonexistent/q']);
  assert.equal(r.code, 2);
  assert.match(r.err, /^semsearch eval: --rerank-with is deprecated; use --cross-encoder\nsemsearch eval: INVALID_ARGUMENT: --run scores the run file as it is, with no model: drop --cross-encoder/);
  const s = await run(['search', '/nonexistent/index', 'q', '--rerank', '/nonexistent/ce']);
  assert.match(s.err, /^semsearch search: --rerank is deprecated; use --cross-encoder\n/);
  assert.equal(s.err.split('\n').filter((l) => l.includes('deprecated')).length, 1);
});

test('--json makes errors JSON objects with the code and where, on stderr, with the same exit codes', async () => {
  const unknownOption = await run(['search', 'idx', '--json', '--nope']);
  assert.equal(unknownOption.code, 2);
  assert.equal(unknownOption.out, '');
  const e1 = JSON.parse(unknownOption.err) as { error: { command: string; code: string; message: string; field: string } };
  assert.deepEqual([e1.error.command, e1.error.code, e1.error.field], ['search', 'INVALID_ARGUMENT', '--nope']);
  assert.match(e1.error.message, /unknown option --nope; known: --k, --exact/);

  const missingIndex = await run(['info', '/nonexistent/index', '--json']);
  assert.equal(missingIndex.code, 1);
  const e2 = JSON.parse(missingIndex.err) as { error: { code: string; message: string } };
  assert.ok(e2.error.code.length > 0 && e2.error.message.includes('/nonexistent/index'), missingIndex.err);

  const unknownCommand = await run(['nope', '--json']);
  assert.equal(unknownCommand.code, 2);
  assert.equal((JSON.parse(unknownCommand.err) as { error: { code: string } }).error.code, 'INVALID_ARGUMENT');

  // Without --json the same error is one line of text.
  const text = await run(['search', 'idx', '--nope']);
  assert.match(text.err, /^semsearch search: INVALID_ARGUMENT: unknown option --nope/);
});

test('defineCommand: typed values, required options and arguments, choices and counts checked before run', async () => {
  let seen: unknown;
  const cmd = defineCommand({
    name: 'demo',
    usage: 'usage: demo <thing>',
    options: {
      model: { type: 'string', short: 'm', description: 'm', required: 'demo needs --model' },
      size: { type: 'number', description: 'n', positiveInteger: true },
      mode: { type: 'string', description: 'mode', choices: ['a', 'b'] },
      flag: { type: 'boolean', description: 'f' },
    },
    args: [{ name: 'thing', required: 'demo needs a thing' }],
    async run({ values, args }) {
      // Typed without casts: a required string, an optional number, a union of the choices.
      const model: string = values.model;
      const size: number | undefined = values.size;
      const mode: 'a' | 'b' | undefined = values.mode;
      seen = { model, size, mode, flag: values.flag, args };
      return 0;
    },
  });
  const io = { stdout: new PassThrough(), stderr: new PassThrough(), stdin: Readable.from(['']), env: {} };
  assert.equal(await cmd.run(['x', '-m', 'M', '--size', '3', '--mode=b', '--flag'], io), 0);
  assert.deepEqual(seen, { model: 'M', size: 3, mode: 'b', flag: true, args: ['x'] });
  const refused: [string[], RegExp, string][] = [
    [['x'], /demo needs --model/, '--model'],
    [['-m', 'M'], /demo needs a thing/, 'thing'],
    [['x', 'y', '-m', 'M'], /demo takes <thing>, got "y" too/, 'y'],
    [['x', '-m', 'M', '--size', '0'], /--size must be a positive integer/, '--size'],
    [['x', '-m', 'M', '--size', '2.5'], /--size must be a positive integer/, '--size'],
    [['x', '-m', 'M', '--mode', 'c'], /--mode must be one of a, b, got "c"/, '--mode'],
    [['x', '-m'], /option --model needs a value/, '--model'],
    [['x', '-m', 'M', '--flag=yes'], /option --flag takes no value/, '--flag'],
  ];
  for (const [argv, message, field] of refused) {
    await assert.rejects(cmd.run(argv, io), (e) => isSemsearchError(e, 'INVALID_ARGUMENT') && message.test(e.message) && e.field === field, argv.join(' '));
  }
  assert.deepEqual(parseCommandLine(['--', '-x'], {}).args, ['-x']);
});
