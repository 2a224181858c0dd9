import { SemsearchError } from '../errors.js';

/** A command's declared flags: name → kind. Boolean flags take no value. */
export type FlagSpec = Record<string, { type: 'string' | 'number' | 'boolean'; short?: string; description: string }>;

export interface ParsedArgs {
  positionals: string[];
  flags: Record<string, string | number | boolean | undefined>;
}

/** Parse argv against a flag spec; unknown flags and bad numbers are errors naming the flag. */
export function parseArgs(argv: readonly string[], spec: FlagSpec): ParsedArgs {
  const positionals: string[] = [];
  const flags: ParsedArgs['flags'] = {};
  const byShort = new Map(Object.entries(spec).filter(([, s]) => s.short !== undefined).map(([name, s]) => [s.short as string, name]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    } else {
      name = byShort.get(arg.slice(1)) ?? arg.slice(1);
    }
    const s = spec[name];
    if (s === undefined) {
      throw new SemsearchError('INVALID_ARGUMENT', `unknown option ${arg}; known: ${Object.keys(spec).map((k) => `--${k}`).join(', ')}`, { field: arg });
    }
    if (s.type === 'boolean') {
      flags[name] = inline === undefined ? true : inline !== 'false';
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new SemsearchError('INVALID_ARGUMENT', `option --${name} needs a value`, { field: `--${name}` });
    if (s.type === 'number') {
      // Plain decimals only: Number() would also take "0x50" or "1e3", which nobody means on a command line.
      const n = /^[+-]?(\d+\.?\d*|\.\d+)$/.test(value.trim()) ? Number(value) : Number.NaN;
      if (!Number.isFinite(n)) throw new SemsearchError('INVALID_ARGUMENT', `option --${name} needs a number, got ${JSON.stringify(value)}`, { field: `--${name}` });
      flags[name] = n;
    } else flags[name] = value;
  }
  return { positionals, flags };
}

export function helpText(usage: string, spec: FlagSpec): string {
  const lines = Object.entries(spec).map(([name, s]) => `  ${s.short !== undefined ? `-${s.short}, ` : '    '}--${name}${s.type === 'boolean' ? '' : ` <${s.type}>`}  ${s.description}`);
  return `${usage}\n\nOptions:\n${lines.join('\n')}\n`;
}
