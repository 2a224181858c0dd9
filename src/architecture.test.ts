// docs/ARCHITECTURE.md, checked: "data flows one way; each folder has one job and imports only from folders to its
// left". This reads the imports of every source file under src/ and bench/ with the TypeScript parser (so comments and
// strings never count) and holds the tree to three rules: no import cycles, the folder order below, and production
// code never reaching into test code.
//
// Which files each rule looks at:
// - cycles: every file, tests and test-support included. A cycle through a test is still a cycle, and production code
//   cannot take part in one through a test anyway (the third rule), so this costs nothing and misses nothing.
// - the folder order: production files of src/ only. Tests may reach anywhere for fixtures and end-to-end checks
//   (a corpus reader's test may use eval's scoring to prove its output), and bench/ is a consumer of the package like
//   examples/, outside the order.
// - no test code in production: production files of src/ and bench/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * The folders of src/ (and its single file errors.ts, named errors), left to right. Each imports only from its own
 * folder and from folders on levels to its left; folders on one level (separated by '/') may not import each other.
 * src/index.ts, the package entry, stands outside the order: it may import anything and nothing in src/ imports it.
 */
const LAYER_ORDER = 'errors → cpu → hub → model → tensor → score → encoder → corpus → store → opensearch / rerank / mine → eval / server → cli';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENTRY = 'src/index.ts';
const SCANNED = ['src', 'bench'];
const LAYERS: readonly (readonly string[])[] = LAYER_ORDER.split('→').map((level) => level.split('/').map((name) => name.trim()));
const LEVEL = new Map(LAYERS.flatMap((names, i) => names.map((name) => [name, i] as const)));

interface Import {
  /** The specifier as written. */
  spec: string;
  line: number;
  /** Repository-relative path of the file it names; null for a package or node: builtin. */
  target: string | null;
}

/** Static imports and re-exports (type-only too), `import x = require()`, `import('…')` with a literal, and `typeof import('…')`. */
function importsOf(fileName: string, text: string): { spec: string; line: number }[] {
  const kind = fileName.endsWith('.mjs') ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, kind);
  const found: { spec: string; line: number }[] = [];
  const add = (node: ts.Node): void => {
    if (ts.isStringLiteralLike(node)) found.push({ spec: node.text, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1 });
  };
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier !== undefined) add(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node.moduleReference.expression);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] !== undefined) add(node.arguments[0]);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

const isFile = (path: string): boolean => existsSync(join(ROOT, path)) && statSync(join(ROOT, path)).isFile();

/** The source file a specifier names: `./x.js` is `./x.ts` here; `semsearch` is the package entry. */
function resolveImport(from: string, spec: string): string | null {
  if (spec === 'semsearch') return ENTRY;
  if (!spec.startsWith('./') && !spec.startsWith('../')) return null;
  const p = posix.normalize(posix.join(posix.dirname(from), spec));
  const candidates = [p.replace(/\.js$/, '.ts'), p.replace(/\.mjs$/, '.mts'), p, `${p}.ts`, `${p}/index.ts`];
  // A file that is not there (yet) still names its folder, which is all the folder order needs.
  return candidates.find(isFile) ?? (candidates[0] as string);
}

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(join(ROOT, dir)).sort()) {
    const path = `${dir}/${name}`;
    if (name === 'node_modules') continue;
    if (statSync(join(ROOT, path)).isDirectory()) sourceFiles(path, out);
    else if (/\.(ts|mts|mjs)$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

const isTestCode = (path: string): boolean => path.endsWith('.test.ts') || path.split('/').includes('test-support');

/** The top-level name of a file in src/: its folder, or for a file directly in src/ its name without extension. */
function unitOf(path: string): string | null {
  const parts = path.split('/');
  if (parts[0] !== 'src' || parts.length < 2) return null;
  return parts.length === 2 ? (parts[1] as string).replace(/\.(ts|mts|mjs)$/, '') : (parts[1] as string);
}

const GRAPH = new Map<string, Import[]>(
  SCANNED.flatMap((dir) => sourceFiles(dir)).map((file) => [
    file,
    importsOf(file, readFileSync(join(ROOT, file), 'utf8')).map(({ spec, line }) => ({ spec, line, target: resolveImport(file, spec) })),
  ]),
);

const where = (file: string, i: Import): string => `${file}:${i.line} imports '${i.spec}'${i.target === null ? '' : ` (${i.target})`}`;

/** Strongly connected components of more than one file (or a file importing itself), by Tarjan's algorithm. */
function cycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop() as string;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (edges.get(v) ?? []).includes(v)) found.push(component.sort());
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

/** A shortest cycle through `start` inside a component: the files it passes, `start` first. */
function shortestCycle(inside: ReadonlySet<string>, start: string): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  search: while (queue.length > 0) {
    const v = queue.shift() as string;
    for (const i of GRAPH.get(v) ?? []) {
      const w = i.target;
      if (w === null || !inside.has(w)) continue;
      if (w === start) {
        previous.set(start, v);
        break search;
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  const path: string[] = [];
  for (let v = previous.get(start) as string; v !== start; v = previous.get(v) as string) path.unshift(v);
  return [start, ...path];
}

/**
 * The cycles of each component, one shortest cycle through each of its files (so two cycles that share a file are
 * both named), written as the files they pass with the line of each import: a.ts:3 → b.ts:7 → a.ts.
 */
function describeCycles(components: readonly string[][]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const component of components) {
    const inside = new Set(component);
    for (const start of component) {
      const cycle = shortestCycle(inside, start);
      const first = cycle.indexOf([...cycle].sort()[0] as string);
      const canonical = [...cycle.slice(first), ...cycle.slice(0, first)];
      const key = canonical.join(' ');
      if (seen.has(key)) continue;
      seen.add(key);
      const steps = canonical.map((file, k) => {
        const to = canonical[(k + 1) % canonical.length] as string;
        return `${file}:${(GRAPH.get(file) ?? []).find((i) => i.target === to)?.line}`;
      });
      out.push([...steps, canonical[0]].join(' → '));
    }
  }
  return out;
}

test('the import reader finds every kind of import, and nothing in comments or strings', () => {
  const text = [
    "import { a } from './a.js';",
    "import type { B } from '../b.js';",
    "import './side-effect.js';",
    "export { c } from './c.js';",
    "export * from './d.js';",
    "export type { E } from './e.js';",
    "import f = require('./f.js');",
    "const g = await import('./g.js');",
    'const h = await import(`./h.js`);',
    "type I = typeof import('./i.js');",
    "// import { no } from './comment.js';",
    "const s = \"import { no } from './string.js'\";",
    'const dynamic = await import(`./${s}.js`);',
  ].join('\n');
  assert.deepEqual(
    importsOf('x.ts', text).map((i) => `${i.line}:${i.spec}`),
    ['1:./a.js', '2:../b.js', '3:./side-effect.js', '4:./c.js', '5:./d.js', '6:./e.js', '7:./f.js', '8:./g.js', '9:./h.js', '10:./i.js'],
  );
  assert.equal(resolveImport('src/store/ann.ts', './manifest.js'), 'src/store/manifest.ts');
  assert.equal(resolveImport('src/store/ann.ts', '../errors.js'), 'src/errors.ts');
  assert.equal(resolveImport('src/eval/x.ts', 'semsearch'), ENTRY);
  assert.equal(resolveImport('src/eval/x.ts', 'node:fs'), null);
  // The tree itself: a reader that found nothing would pass every rule below.
  assert.ok(GRAPH.size > 100, `only ${GRAPH.size} source files found under ${SCANNED.join(', ')}`);
  assert.ok((GRAPH.get(ENTRY) ?? []).length > 10, 'src/index.ts imports nothing?');
});

test('no import cycles between modules of src/ and bench/', () => {
  const edges = new Map([...GRAPH].map(([file, imports]) => [file, [...new Set(imports.map((i) => i.target).filter((t): t is string => t !== null && GRAPH.has(t)))]]));
  const all = describeCycles(cycles(edges));
  const found = all.length > 20 ? [...all.slice(0, 20), `… and ${all.length - 20} more`] : all;
  assert.deepEqual(found, [], `import cycles (put the shared type or function with the data it describes, or in a module both import):\n  ${found.join('\n  ')}`);
});

test(`each folder of src/ imports only from folders to its left: ${LAYER_ORDER}`, () => {
  for (const name of LEVEL.keys()) {
    assert.ok(isFile(`src/${name}.ts`) || existsSync(join(ROOT, 'src', name)), `LAYER_ORDER names src/${name}, which does not exist`);
  }
  const left = (level: number): string => LAYERS.slice(0, level).flat().join(', ') || 'nothing';
  const broken: string[] = [];
  for (const [file, imports] of GRAPH) {
    const unit = unitOf(file);
    if (unit === null || isTestCode(file)) continue;
    const level = LEVEL.get(unit);
    if (file !== ENTRY && level === undefined) {
      broken.push(`${file}: src/${unit} is not in LAYER_ORDER; give it a place there (and in docs/ARCHITECTURE.md)`);
      continue;
    }
    for (const i of imports) {
      if (i.target === null || isTestCode(i.target)) continue; // packages; test code has its own rule below
      const to = unitOf(i.target);
      if (to === null) {
        broken.push(`${where(file, i)}: src/ imports only from src/`);
        continue;
      }
      if (file === ENTRY) continue;
      if (i.target === ENTRY) {
        broken.push(`${where(file, i)}: nothing in src/ imports the package entry; import the module itself`);
        continue;
      }
      if (to === unit) continue;
      const toLevel = LEVEL.get(to);
      if (toLevel === undefined) broken.push(`${where(file, i)}: src/${to} is not in LAYER_ORDER`);
      else if (toLevel >= (level as number)) {
        const why = toLevel === level ? `${to} is on the same level as ${unit}` : `${to} is to the right of ${unit}`;
        broken.push(`${where(file, i)}: ${why}; ${unit} may import only from ${left(level as number)}`);
      }
    }
  }
  assert.deepEqual(broken, [], `imports against the folder order ${LAYER_ORDER}:\n  ${broken.join('\n  ')}`);
});

test('production code in src/ and bench/ imports no test file and no test-support/ folder', () => {
  const broken: string[] = [];
  for (const [file, imports] of GRAPH) {
    if (isTestCode(file)) continue;
    for (const i of imports) if (i.target !== null && isTestCode(i.target)) broken.push(`${where(file, i)}: test code, imported by production code`);
  }
  assert.deepEqual(broken, [], `production code importing test code:\n  ${broken.join('\n  ')}`);
});

test('the library knows no repository layout: no production file of src/ names the shared data folder', () => {
  const offenders: string[] = [];
  for (const file of GRAPH.keys()) {
    if (!file.startsWith('src/') || isTestCode(file)) continue;
    const text = readFileSync(join(ROOT, file), 'utf8');
    text.split('\n').forEach((line, i) => {
      if (/shared\/data|['"]\.\.\/shared|'shared', 'data'/.test(line)) offenders.push(`${file}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(offenders, [], 'data folders are named by the user (--data-dir, SEMSEARCH_DATA), never found beside the code');
});

test('the OpenSearch backend keeps the Searcher contract (store/searcher.ts) and imports nothing of the local index', () => {
  const broken: string[] = [];
  for (const [file, imports] of GRAPH) {
    if (!file.startsWith('src/opensearch/') || isTestCode(file)) continue;
    for (const i of imports) if (i.target === 'src/store/search-index.ts') broken.push(`${where(file, i)}: imports the local index`);
  }
  assert.deepEqual(broken, [], broken.join('\n'));
  assert.ok((GRAPH.get('src/opensearch/opensearch-index.ts') ?? []).some((i) => i.target === 'src/store/searcher.ts'));
});
