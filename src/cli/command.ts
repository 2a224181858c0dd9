import { readFile } from 'node:fs/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SemsearchError } from '../errors.js';

/*
 * Every CLI command is declared with defineCommand: its options (typed, so `run` reads values without casts),
 * its arguments, and a run function. Parsing, --help, --version, required options, choices and number checks
 * happen here once, so every command answers them the same way.
 */

/** Streams and environment a command runs with (tests pass their own). */
export interface CliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
}

export interface OptionSpec {
  type: 'string' | 'number' | 'boolean';
  /** One letter; a letter means the same long option in every command (cli.test.ts checks). */
  short?: string;
  description: string;
  /** The values a string option takes. */
  choices?: readonly string[];
  /** A number option must be a whole number >= 1 (counts, sizes). */
  positiveInteger?: boolean;
  /** A missing required option is an INVALID_ARGUMENT naming it, with this message when given. */
  required?: boolean | string;
  /**
   * Old long names that still work: each is read as this option and prints a one-line hint on stderr
   * ("--rerank-with is deprecated; use --cross-encoder"). No alias is another option's name (command.test.ts checks).
   */
  deprecated?: readonly string[];
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

type ValueOf<S extends OptionSpec> = S['type'] extends 'boolean'
  ? boolean
  : S['type'] extends 'number'
    ? number
    : S extends { choices: readonly (infer C)[] }
      ? C
      : string;

/** The parsed values of a command's options: required ones are always there, the others may be absent. */
export type OptionValues<O extends OptionSpecs> = {
  [K in keyof O as O[K] extends { required: true | string } ? K : never]: ValueOf<O[K]>;
} & {
  [K in keyof O as O[K] extends { required: true | string } ? never : K]?: ValueOf<O[K]>;
};

export interface ArgumentSpec {
  /** As the usage line shows it, e.g. "index-dir". */
  name: string;
  /** Absent → INVALID_ARGUMENT with this message, field = name. */
  required?: string;
  /** Takes every remaining argument. */
  variadic?: boolean;
}

export interface CommandContext<O extends OptionSpecs> {
  values: OptionValues<O>;
  /** The arguments, checked against the command's ArgumentSpecs. */
  args: string[];
  /** --json: print JSON (every command has it). */
  json: boolean;
  io: CliIO;
}

export interface CommandDefinition<O extends OptionSpecs> {
  name: string;
  /** The usage line(s) and any text --help shows above the options. */
  usage: string;
  options: O;
  args?: readonly ArgumentSpec[];
  run(context: CommandContext<O>): Promise<number>;
}

/** What the CLI dispatcher sees of a command. */
export interface Command {
  name: string;
  options: OptionSpecs;
  run(argv: readonly string[], io: CliIO): Promise<number>;
}

/** Options every command has. */
const COMMON_OPTIONS = {
  json: { type: 'boolean', description: 'print JSON (errors too, as {"error": {...}} on stderr)' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
  version: { type: 'boolean', description: 'print the semsearch version' },
} as const satisfies OptionSpecs;

/** The package version, read from package.json beside src/ or dist/. */
export async function packageVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

function helpText(usage: string, options: OptionSpecs): string {
  const line = ([name, s]: [string, OptionSpec]): string => {
    const value = s.type === 'boolean' ? '' : s.choices !== undefined ? ` <${s.choices.join('|')}>` : ` <${s.type}>`;
    const was = s.deprecated !== undefined && s.deprecated.length > 0 ? ` (was ${s.deprecated.map((d) => `--${d}`).join(', ')}, still read)` : '';
    return `  ${s.short !== undefined ? `-${s.short}, ` : '    '}--${name}${value}  ${s.description}${was}`;
  };
  return `${usage}\n\nOptions:\n${Object.entries(options).map(line).join('\n')}\n`;
}

// Plain decimals only: Number() would also take "0x50" or "1e3", which nobody means on a command line.
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)$/;

function toNumber(name: string, raw: string, spec: OptionSpec): number {
  const n = DECIMAL.test(raw.trim()) ? Number(raw) : Number.NaN;
  if (!Number.isFinite(n)) throw new SemsearchError('INVALID_ARGUMENT', `option --${name} needs a number, got ${JSON.stringify(raw)}`, { field: `--${name}` });
  if (spec.positiveInteger === true && (!Number.isSafeInteger(n) || n < 1)) {
    throw new SemsearchError('INVALID_ARGUMENT', `--${name} must be a positive integer, got ${raw}`, { field: `--${name}` });
  }
  return n;
}

/** node:util's parse errors as the coded errors the CLI prints, naming the option and the known ones. */
/**
 * A number option's value may be negative (`--min-score -0.5`), as argparse allows; Node's parser would take `-0.5`
 * for an option. Such a pair is joined into `--min-score=-0.5` first.
 */
function withNegativeNumbers(argv: readonly string[], options: OptionSpecs): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const next = argv[i + 1];
    const long = a.startsWith('--') && !a.includes('=') ? a.slice(2) : undefined;
    const name = long ?? (/^-\w$/.test(a) ? Object.entries(options).find(([, s]) => s.short === a.slice(1))?.[0] : undefined);
    const spec = name !== undefined ? (options[name] ?? Object.values(options).find((o) => o.deprecated?.includes(name))) : undefined;
    if (name !== undefined && spec?.type === 'number' && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      out.push(`--${name}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

function parseError(e: unknown, options: OptionSpecs): SemsearchError {
  const err = e as NodeJS.ErrnoException;
  // Node names the option as it was typed ('--nope', '-x') or, for a missing value, as '-m, --model <value>'.
  const flag = /'(-[^' ,]+)/.exec(err.message)?.[1] ?? '';
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    return new SemsearchError('INVALID_ARGUMENT', `unknown option ${flag}; known: ${Object.keys(options).map((k) => `--${k}`).join(', ')}`, { field: flag });
  }
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const name = /--([\w-]+)/.exec(err.message)?.[1] ?? flag.replace(/^-+/, '');
    const long = Object.entries(options).find(([k, s]) => k === name || s.short === name)?.[0] ?? name;
    return err.message.includes('does not take an argument')
      ? new SemsearchError('INVALID_ARGUMENT', `option --${long} takes no value`, { field: `--${long}` })
      : new SemsearchError('INVALID_ARGUMENT', `option --${long} needs a value`, { field: `--${long}` });
  }
  return new SemsearchError('INVALID_ARGUMENT', err.message, { cause: e });
}

/** The one-line hint a deprecated spelling prints on stderr. */
export function deprecationHint(alias: string, name: string): string {
  return `--${alias} is deprecated; use --${name}`;
}

/**
 * Parse argv against option specs: typed values and the arguments, or an INVALID_ARGUMENT naming the option.
 * A deprecated spelling (OptionSpec.deprecated) is read as its option and named in `deprecated` as [alias, option].
 */
export function parseCommandLine<O extends OptionSpecs>(
  argv: readonly string[],
  options: O,
): { values: OptionValues<O>; args: string[]; deprecated: [alias: string, name: string][] } {
  const config: ParseArgsConfig['options'] = {};
  const aliasOf = new Map<string, string>();
  for (const [name, s] of Object.entries(options)) {
    config[name] = { type: s.type === 'boolean' ? 'boolean' : 'string', ...(s.short !== undefined ? { short: s.short } : {}) };
    for (const alias of s.deprecated ?? []) {
      config[alias] = { type: s.type === 'boolean' ? 'boolean' : 'string' };
      aliasOf.set(alias, name);
    }
  }
  let parsed;
  try {
    parsed = parseArgs({ args: withNegativeNumbers(argv, options), options: config, allowPositionals: true, strict: true });
  } catch (e) {
    throw parseError(e, options);
  }
  const values: Record<string, unknown> = {};
  const deprecated: [string, string][] = [];
  const given: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(parsed.values)) {
    const name = aliasOf.get(key);
    if (name === undefined) continue;
    if (name in given || name in parsed.values) {
      throw new SemsearchError('INVALID_ARGUMENT', `give --${name} once (--${key} is its old spelling)`, { field: `--${key}` });
    }
    deprecated.push([key, name]);
    given[name] = raw;
  }
  for (const [key, raw] of Object.entries(parsed.values)) if (!aliasOf.has(key)) given[key] = raw;
  for (const [name, raw] of Object.entries(given)) {
    const s = options[name] as OptionSpec;
    if (typeof raw !== 'string') values[name] = raw;
    else if (s.type === 'number') values[name] = toNumber(name, raw, s);
    else {
      if (s.choices !== undefined && !s.choices.includes(raw)) {
        throw new SemsearchError('INVALID_ARGUMENT', `--${name} must be one of ${s.choices.join(', ')}, got ${JSON.stringify(raw)}`, { field: `--${name}` });
      }
      values[name] = raw;
    }
  }
  return { values: values as OptionValues<O>, args: parsed.positionals, deprecated };
}

function checkArgs(command: string, args: readonly string[], specs: readonly ArgumentSpec[]): void {
  specs.forEach((spec, i) => {
    if (spec.required !== undefined && args[i] === undefined) throw new SemsearchError('INVALID_ARGUMENT', spec.required, { field: spec.name });
  });
  const variadic = specs.some((s) => s.variadic === true);
  if (!variadic && args.length > specs.length) {
    const extra = args.slice(specs.length);
    const takes = specs.length === 0 ? 'takes no arguments' : `takes ${specs.map((s) => `<${s.name}>`).join(' ')}`;
    throw new SemsearchError('INVALID_ARGUMENT', `${command} ${takes}, got ${extra.map((a) => JSON.stringify(a)).join(' ')} too`, { field: extra[0] as string });
  }
}

export function defineCommand<const O extends OptionSpecs>(definition: CommandDefinition<O>): Command {
  const options = { ...definition.options, ...COMMON_OPTIONS };
  return {
    name: definition.name,
    options,
    async run(argv, io) {
      const { values, args, deprecated } = parseCommandLine(argv, options);
      for (const [alias, name] of deprecated) io.stderr.write(`semsearch ${definition.name}: ${deprecationHint(alias, name)}\n`);
      const common = values as { help?: boolean; version?: boolean };
      if (common.help === true) {
        io.stdout.write(helpText(definition.usage, options));
        return 0;
      }
      if (common.version === true) {
        io.stdout.write(`semsearch ${await packageVersion()}\n`);
        return 0;
      }
      for (const [name, s] of Object.entries(definition.options)) {
        if (s.required !== undefined && s.required !== false && (values as Record<string, unknown>)[name] === undefined) {
          const message = typeof s.required === 'string' ? s.required : `${definition.name} needs --${name}`;
          throw new SemsearchError('INVALID_ARGUMENT', message, { field: `--${name}` });
        }
      }
      checkArgs(definition.name, args, definition.args ?? []);
      return definition.run({ values: values as OptionValues<O>, args, json: (values as { json?: boolean }).json === true, io });
    },
  };
}
