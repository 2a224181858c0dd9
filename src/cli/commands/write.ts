import { CORPUS_FORMATS } from '../../corpus/formats.js';
import { checkWellFormed } from '../../corpus/encoding.js';
import { readTextFile } from '../../corpus/line-reader.js';
import { describeUnmatched, readMetadataFile, unmatchedMetadata } from '../../corpus/metadata.js';
import type { Passage } from '../../corpus/passages.js';
import { SemsearchError } from '../../errors.js';
import { checkMetadata } from '../../store/filter.js';
import { MAX_WRITE_BATCH } from '../../store/manifest.js';
import type { IndexWriter, IndexWriterOptions, WriteDocument, WriteResult } from '../../store/write-index.js';
import { defineCommand, type CliIO } from '../command.js';
import { BATCH_SIZE_OPTION, DEVICE_OPTION, THREADS_OPTION, deviceOption } from '../options.js';
import { commandProgress } from '../progress.js';
import { STDIN_ARG, withCorpusArg } from '../stdin-corpus.js';

/** One line per committed write: what it did. A line printed is a write that survives any crash after it. */
function report(io: CliIO, json: boolean, verb: string, r: WriteResult): void {
  if (json) io.stdout.write(JSON.stringify({ committed: verb, ...r }) + '\n');
  else {
    const parts = [r.added > 0 ? `${r.added} added` : '', r.replaced > 0 ? `${r.replaced} replaced` : '', r.deleted > 0 ? `${r.deleted} deleted` : '', r.dropped > 0 ? `${r.dropped} rows dropped` : ''];
    io.stdout.write(`committed generation ${r.generation} (${verb}): ${parts.filter((p) => p !== '').join(', ') || 'nothing to do'}; ${r.live} documents\n`);
  }
}

/** Run `fn` with the index's writer (warnings on stderr as `semsearch <command>: warning`), closed after. */
async function withWriter(dir: string, command: string, io: CliIO, options: IndexWriterOptions, fn: (w: IndexWriter) => Promise<void>): Promise<number> {
  // Imported here, not at the top, so `add --help` loads neither ONNX Runtime nor SQLite nor usearch.
  const { IndexWriter } = await import('../../store/write-index.js');
  const writer = await IndexWriter.open(dir, { ...options, onWarning: (m) => io.stderr.write(`semsearch ${command}: warning: ${m}\n`) });
  try {
    await fn(writer);
    return 0;
  } finally {
    await writer.close();
  }
}

function withMetadata(p: Passage, side: Map<string, Record<string, string | number | boolean | null>> | undefined): WriteDocument {
  const extra = side?.get(p.id);
  const metadata = extra !== undefined ? { ...(p.metadata ?? {}), ...extra } : p.metadata;
  return { id: p.id, text: p.text, ...(metadata !== undefined ? { metadata } : {}) };
}

/** `semsearch add <index> <corpus>`: upsert every passage of a corpus file into a built index. */
export const addCommand = defineCommand({
  name: 'add',
  usage: `usage: semsearch add <index-dir> <corpus | -> [--metadata side.jsonl]

The corpus is read in any format semsearch index takes; "-" reads it from standard input (--format, or told from
its first line: a JSON object is beir, a JSON array candidates, .I smart, a tab msmarco). A passage whose id the index
holds replaces it. The whole file is checked first (ids, empty texts, metadata types); then it is written in commits
of --commit-size passages, each printed once it is committed. If the process dies (tested with kill -9 at random
moments and at each commit's rename), the index holds every printed commit, possibly the one being written when it
died (whole, unprinted), and nothing of the later ones; never half a commit. The next writer undoes what was
left uncommitted (searches never see it). Running the same add again completes it (replacing is idempotent;
--skip-existing skips what landed). Power loss and OS crashes are not tested: files and folders are fsynced before each commit.`,
  options: {
    format: { type: 'string', description: 'corpus format (default: guessed from the path and first line)', choices: CORPUS_FORMATS },
    metadata: { type: 'string', description: 'a JSONL side file of metadata: {"id": …, "field": value} per line' },
    'skip-existing': { type: 'boolean', description: 'add only passages whose id the index lacks (the first text of an id wins, as when several corpus files are pooled)' },
    chunk: { type: 'boolean', description: 'the index must be chunked (built with index --chunk); its documents are always cut as it was built' },
    'commit-size': { type: 'number', description: `passages per commit (default 1000, at most ${MAX_WRITE_BATCH})`, positiveInteger: true },
    'batch-size': BATCH_SIZE_OPTION,
    threads: THREADS_OPTION,
    device: DEVICE_OPTION,
  },
  args: [
    { name: 'index', required: 'add needs an index folder' },
    { name: 'corpus', required: 'add needs a corpus file' },
  ],
  async run({ values, args, json, io }) {
    const [dir, corpus] = args as [string, string];
    const { iteratePassages } = await import('../../corpus/passages.js');
    const commitSize = values['commit-size'] ?? 1000;
    if (commitSize > MAX_WRITE_BATCH) throw new SemsearchError('LIMIT_EXCEEDED', `--commit-size is at most ${MAX_WRITE_BATCH}`, { field: '--commit-size' });
    const side = values.metadata !== undefined ? await readMetadataFile(values.metadata) : undefined;
    const writerOptions = {
      ...(values['batch-size'] !== undefined ? { batchSize: values['batch-size'] } : {}),
      ...(values.threads !== undefined ? { threads: values.threads } : {}),
      ...deviceOption(values),
    };
    const name = corpus === STDIN_ARG ? '<stdin>' : corpus;
    // `-`: standard input, spooled to a temporary file (the corpus is read twice: checked whole, then written).
    return withCorpusArg(corpus, io.stdin, values.format, (path, format) => withWriter(dir, 'add', io, writerOptions, async (writer) => {
      if (values.chunk === true && writer.committed.chunking === undefined) {
        throw new SemsearchError('INDEX_MISMATCH', `${dir} was built without --chunk: its rows are whole passages; rebuild it with semsearch index --chunk to add documents as windows`, { field: '--chunk' });
      }
      const opts = format !== undefined ? { format } : {};
      // First pass: the file as a whole must be writable, so a bad record late in it leaves the index untouched.
      const lines = new Map<string, number | undefined>();
      let fields = { ...(writer.committed.fields ?? {}) };
      let total = 0;
      const present = new Set<string>();
      const matched = new Set<string>();
      for await (const p of iteratePassages(path, opts)) {
        if (side?.has(p.id) === true) matched.add(p.id);
        if (values['skip-existing'] === true && writer.missing([p.id]).length === 0) {
          present.add(p.id);
          continue;
        }
        const where = { file: p.file, ...(p.line !== undefined ? { line: p.line } : {}) };
        const at = `${p.file}${p.line !== undefined ? `:${p.line}` : ''}`;
        if (p.text.trim() === '') throw new SemsearchError('EMPTY_PASSAGE', `${at}: passage ${p.id} is empty; nothing was added`, { ...where, field: 'text' });
        if (lines.has(p.id)) {
          throw new SemsearchError('DUPLICATE_ENTRY', `${at}: passage id ${p.id} appears twice in ${name} (first at line ${lines.get(p.id) ?? '?'}); nothing was added`, { ...where, field: 'id' });
        }
        lines.set(p.id, p.line);
        const d = withMetadata(p, side);
        if (d.metadata !== undefined) fields = { ...fields, ...checkMetadata([{ id: p.id, metadata: d.metadata, ...where }], fields) };
        total++;
      }
      // Side-file rows that name no passage of the corpus are not used: said, not dropped without a word.
      const unmatched = side !== undefined ? unmatchedMetadata(side, matched) : undefined;
      if (unmatched !== undefined && unmatched.count > 0) io.stderr.write(`semsearch add: warning: ${describeUnmatched(unmatched, values.metadata ?? '', name)}\n`);
      if (total === 0) {
        if (present.size === 0) throw new SemsearchError('EMPTY_INPUT', `${name} holds no passages`, { file: name });
        io.stdout.write(json ? JSON.stringify({ committed: null, skipped: present.size }) + '\n' : `nothing to add: the index holds all ${present.size} passages of ${name}\n`);
        return;
      }
      if (present.size > 0) io.stderr.write(`semsearch add: ${present.size} passages whose ids the index holds are skipped (--skip-existing)\n`);
      const progress = commandProgress(io, 'passages');
      let done = 0;
      let batch: WriteDocument[] = [];
      const flush = async (): Promise<void> => {
        if (batch.length === 0) return;
        const r = await writer.upsert(batch);
        done += batch.length;
        batch = [];
        progress.update('added', done, total);
        report(io, json, 'add', r);
      };
      for await (const p of iteratePassages(path, opts)) {
        if (present.has(p.id)) continue;
        batch.push(withMetadata(p, side));
        if (batch.length >= commitSize) await flush();
      }
      await flush();
      progress.finish();
    }));
  },
});

/** `semsearch delete <index> <ids…> | --ids-file F`. */
export const deleteCommand = defineCommand({
  name: 'delete',
  usage: 'usage: semsearch delete <index-dir> <id> [<id> ...] | --ids-file <file of ids, one per line>',
  options: {
    'ids-file': { type: 'string', description: 'a file of passage ids, one per line' },
  },
  args: [{ name: 'index', required: 'delete needs an index folder' }, { name: 'ids', variadic: true }],
  async run({ values, args, json, io }) {
    const dir = args[0] as string;
    const ids = args.slice(1);
    if (values['ids-file'] !== undefined) {
      const file = values['ids-file'];
      // Not UTF-8: INVALID_ENCODING naming the line (a replaced byte would make an id that matches nothing).
      const text = await readTextFile(file);
      ids.push(...text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== ''));
    }
    ids.forEach((id, i) => checkWellFormed(id, 'ids', `id ${i + 1} to delete`));
    if (ids.length === 0) throw new SemsearchError('EMPTY_INPUT', 'delete needs ids: give them as arguments or in --ids-file', { field: 'ids' });
    const seen = new Set<string>();
    for (const id of ids) {
      if (seen.has(id)) throw new SemsearchError('DUPLICATE_ENTRY', `id ${id} is given twice; nothing was deleted`, { field: 'ids' });
      seen.add(id);
    }
    return withWriter(dir, 'delete', io, {}, async (writer) => {
      // Every id is checked before the first of several writes, so an unknown one deletes nothing.
      const missing = writer.missing(ids);
      if (missing.length > 0) throw (await import('../../store/write-index.js')).unknownDocuments(missing);
      for (let i = 0; i < ids.length; i += MAX_WRITE_BATCH) report(io, json, 'delete', await writer.delete(ids.slice(i, i + MAX_WRITE_BATCH)));
    });
  },
});

/** `semsearch compact <index>`. */
export const compactCommand = defineCommand({
  name: 'compact',
  usage: 'usage: semsearch compact <index-dir>',
  options: {},
  args: [{ name: 'index', required: 'compact needs an index folder' }],
  async run({ args, json, io }) {
    // Per shard: at a terminal a bar with the rate and ETA, off one a plain line every few seconds (as index).
    const progress = commandProgress(io, 'rows');
    return withWriter(args[0] as string, 'compact', io, {}, async (writer) => {
      const r = await writer.compact({ onProgress: (p) => progress.update(p.phase === 'rows' ? 'copied' : 'graph', p.done, p.total) });
      progress.finish();
      report(io, json, 'compact', r);
    });
  },
});
