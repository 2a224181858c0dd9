// The shell and TypeScript blocks of README.md and docs/*.md, and the marker each carries (issue 30: docs are
// tested). A block is preceded, on the nearest non-blank line, by one of
//   <!-- runs-in: src/some.test.ts -->          a test runs it; that test reads it with docBlock(file, heading, n)
//   <!-- not-run: the reason -->                 it cannot run here, and why
// Tests take a block's text with `docBlock('README.md', 'Heading text', n)`: n counts the runnable blocks (sh, bash,
// ts, js) under headings with that text, in document order, from 0. src/docs-blocks.test.ts reads these calls in
// the test file a runs-in marker names, so a marker and the test that runs the block cannot drift apart.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DOCS_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The languages whose blocks must run or say why not. */
export const RUNNABLE_LANGS = ['sh', 'bash', 'shell', 'ts', 'typescript', 'js', 'javascript'];

export type Marker = { kind: 'runs-in'; tests: string[] } | { kind: 'not-run'; reason: string } | { kind: 'none'; line: string };

export interface DocBlockInfo {
  /** README.md or docs/NAME.md. */
  file: string;
  /** The text of the nearest heading above, without its #s. */
  heading: string;
  /** Among the runnable blocks under headings of this text, from 0. */
  index: number;
  lang: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The block's text, its fence's indentation removed, ending with a newline. */
  body: string;
  marker: Marker;
}

/** README.md and every docs/*.md, as paths relative to the repository. */
export function docFiles(): string[] {
  return ['README.md', ...readdirSync(join(DOCS_ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
}

function parseMarker(line: string | undefined): Marker {
  const m = /^\s*<!--\s*(runs-in|not-run):\s*(.*?)\s*-->\s*$/.exec(line ?? '');
  if (m === null) return { kind: 'none', line: line ?? '' };
  if (m[1] === 'runs-in') return { kind: 'runs-in', tests: (m[2] as string).split(',').map((s) => s.trim()).filter((s) => s !== '') };
  return { kind: 'not-run', reason: m[2] as string };
}

/** Every runnable block of one markdown file, in order. */
export function docBlocksOf(file: string): DocBlockInfo[] {
  const lines = readFileSync(join(DOCS_ROOT, file), 'utf8').split('\n');
  const out: DocBlockInfo[] = [];
  const seen = new Map<string, number>();
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] as string;
    const h = /^#{1,6}\s+(.*?)\s*$/.exec(l);
    if (h !== null) {
      heading = h[1] as string;
      continue;
    }
    const open = /^(\s*)(`{3,})([\w-]*)\s*$/.exec(l);
    if (open === null) continue;
    const [, indent = '', fence = '```', lang = ''] = open;
    let j = i + 1;
    while (j < lines.length && !new RegExp(`^\\s*${fence}\\s*$`).test(lines[j] as string)) j++;
    if (RUNNABLE_LANGS.includes(lang)) {
      let k = i - 1;
      while (k >= 0 && (lines[k] as string).trim() === '') k--;
      const index = seen.get(heading) ?? 0;
      seen.set(heading, index + 1);
      const body = lines
        .slice(i + 1, j)
        .map((b) => (b.startsWith(indent) ? b.slice(indent.length) : b))
        .join('\n');
      out.push({ file, heading, index, lang, line: i + 1, body: `${body}\n`, marker: parseMarker(k >= 0 ? lines[k] : undefined) });
    }
    i = j;
  }
  return out;
}

/** Every runnable block of README.md and docs/*.md. */
export function allDocBlocks(): DocBlockInfo[] {
  return docFiles().flatMap(docBlocksOf);
}

/** The text of the n-th runnable block under headings `heading` in `file` (see the top of this file). */
export function docBlock(file: string, heading: string, n: number): string {
  const b = docBlocksOf(file).find((x) => x.heading === heading && x.index === n);
  if (b === undefined) assert.fail(`${file} has no runnable block ${n} under "${heading}"`);
  return b.body;
}

/** A block's commands: continuation lines joined, comments and blank lines dropped. */
export function shellCommands(body: string): string[] {
  return body
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** A command line split as sh splits it: single- and double-quoted words, no escapes. */
export function shellWords(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? (m[3] as string));
}

/** The docBlock(file, heading, n) calls written in a test file's source: which blocks it runs. */
export function declaredBlocks(testSource: string): { file: string; heading: string; index: number }[] {
  const re = /docBlock\(\s*(['"])(.+?)\1\s*,\s*(['"])(.+?)\3\s*,\s*(\d+)\s*\)/g;
  return [...testSource.matchAll(re)].map((m) => ({ file: m[2] as string, heading: m[4] as string, index: Number(m[5]) }));
}
