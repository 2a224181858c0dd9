import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SemsearchError } from '../../errors.js';
import type { SentenceTransformer } from '../../encoder/sentence-transformer.js';
import { Matrix } from '../../tensor/matrix.js';
import { checkRangesSpread, PRECISIONS, quantizeEmbeddings, type Precision } from '../../tensor/quantize.js';
import { defineCommand } from '../command.js';
import { BATCH_SIZE_OPTION, DEVICE_OPTION, MODEL_OPTION, OUT_OPTION, VARIANT_OPTION, deviceOption } from '../options.js';
import { checkOutputPath, openOutputFile, writeToStream } from '../output.js';
import { commandProgress } from '../progress.js';

/**
 * All of a stream as text. One decoder across chunks: a UTF-8 character split between two chunks is joined, not
 * turned into two replacement characters as decoding each chunk alone would.
 */
export async function readAllText(stream: NodeJS.ReadableStream): Promise<string> {
  const decoder = new TextDecoder('utf-8');
  let out = '';
  for await (const chunk of stream) out += typeof chunk === 'string' ? chunk : decoder.decode(chunk as Uint8Array, { stream: true });
  return out + decoder.decode();
}

/**
 * The non-empty lines of a stream (split on "\n", as one UTF-8 stream: a character split between two chunks is
 * joined), `size` at a time: what is held is one group and the line being read, whatever the stream's length.
 */
export async function* lineGroups(stream: NodeJS.ReadableStream, size: number): AsyncGenerator<string[]> {
  const decoder = new TextDecoder('utf-8');
  let carry = '';
  let group: string[] = [];
  for await (const chunk of stream) {
    const parts = (carry + (typeof chunk === 'string' ? chunk : decoder.decode(chunk as Uint8Array, { stream: true }))).split('\n');
    carry = parts.pop() as string;
    for (const line of parts) {
      if (line.length === 0) continue;
      group.push(line);
      if (group.length >= size) {
        yield group;
        group = [];
      }
    }
  }
  const last = carry + decoder.decode();
  if (last.length > 0) group.push(last);
  if (group.length > 0) yield group;
}

async function* argGroups(args: readonly string[], size: number): AsyncGenerator<string[]> {
  for (let i = 0; i < args.length; i += size) yield args.slice(i, i + size);
}

/** One embedding per row as JSON arrays joined by commas: the rows of JSON.stringify({ …, embeddings }). */
function rowsJson(out: { rows: number; dim: number; data: Float32Array | Int8Array | Uint8Array }): string {
  const rows: string[] = [];
  for (let r = 0; r < out.rows; r++) rows.push(JSON.stringify(Array.from(out.data.subarray(r * out.dim, (r + 1) * out.dim))));
  return rows.join(',');
}

function prompt(s: EncodeSettings): { promptName?: string } {
  return s.promptName !== undefined ? { promptName: s.promptName } : {};
}

interface EncodeSettings {
  precision: Precision;
  batchSize: number;
  normalize: boolean;
  /** A prompt of the model's, as encode(prompt_name=…); absent: its default_prompt_name, if any. */
  promptName?: string;
  /** Texts encoded so far, after every batch. */
  onProgress?: (done: number) => void;
}

/**
 * The JSON document `{"model", "precision", "dim", "embeddings": [...]}` written as the groups are encoded, byte
 * for byte what JSON.stringify of the whole would give. int8 and uint8 take their ranges from every embedding (as
 * sentence-transformers' quantize_embeddings does), so beyond one group the float embeddings go to a temporary
 * file first and are quantized from it with the ranges of all of them.
 */
async function encodeGroups(
  model: SentenceTransformer,
  modelName: string,
  groups: AsyncIterator<string[]>,
  s: EncodeSettings,
  write: (text: string) => Promise<void>,
): Promise<void> {
  let encoded = 0;
  // Each encode call reports its batches; `encoded` counts the groups before it.
  const progress = (): { onProgress?: (e: { done: number }) => void } => {
    const before = encoded;
    return s.onProgress !== undefined ? { onProgress: (e) => s.onProgress?.(before + e.done) } : {};
  };
  const header = (dim: number): string => `{"model":${JSON.stringify(modelName)},"precision":${JSON.stringify(s.precision)},"dim":${dim},"embeddings":[`;
  const first = await groups.next();
  // No text at all: encode() says so (EMPTY_INPUT), as it did when the input was read whole.
  const firstTexts = first.done === true ? [] : first.value;
  const ranged = s.precision === 'int8' || s.precision === 'uint8';
  const second = ranged && first.done !== true ? await groups.next() : undefined;
  if (second === undefined || second.done === true) {
    // Every group is encoded at the asked precision alone (one group, or a precision without ranges).
    let next: IteratorResult<string[]> = first.done === true ? { done: false, value: firstTexts } : first;
    let started = false;
    while (next.done !== true) {
      // encode's overloads type the result by precision; every precision's result has rows, dim and data.
      const out = await model.encode(next.value, { precision: s.precision as 'float32', batchSize: s.batchSize, normalize: s.normalize, ...prompt(s), ...progress() });
      encoded += out.rows;
      await write((started ? ',' : header(out.dim)) + rowsJson(out));
      started = true;
      next = ranged ? { done: true, value: undefined } : await groups.next();
    }
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'semsearch-encode-'));
  try {
    const file = join(dir, 'embeddings.f32');
    const fh = await open(file, 'w+');
    try {
      let dim = 0;
      let rows = 0;
      let min: Float32Array | undefined;
      let max: Float32Array | undefined;
      for (let next: IteratorResult<string[]> = first; next.done !== true; next = next === first ? (second as IteratorResult<string[]>) : await groups.next()) {
        const emb = await model.encode(next.value, { batchSize: s.batchSize, normalize: s.normalize, ...prompt(s), ...progress() });
        encoded += emb.rows;
        dim = emb.dim;
        if (min === undefined || max === undefined) {
          min = new Float32Array(dim).fill(Number.POSITIVE_INFINITY);
          max = new Float32Array(dim).fill(Number.NEGATIVE_INFINITY);
        }
        for (let i = 0; i < emb.data.length; i++) {
          const v = emb.data[i] as number;
          const d = i % dim;
          if (v < (min[d] as number)) min[d] = v;
          if (v > (max[d] as number)) max[d] = v;
        }
        const bytes = Buffer.from(emb.data.buffer, emb.data.byteOffset, emb.data.byteLength);
        for (let off = 0; off < bytes.length; ) off += (await fh.write(bytes, off, bytes.length - off)).bytesWritten;
        rows += emb.rows;
      }
      const ranges = { min: min as Float32Array, max: max as Float32Array };
      checkRangesSpread(ranges, rows, 'ranges');
      await write(header(dim));
      const per = s.batchSize * GROUP_BATCHES;
      for (let r = 0; r < rows; r += per) {
        const n = Math.min(per, rows - r);
        const data = new Float32Array(n * dim);
        const buf = Buffer.from(data.buffer);
        for (let off = 0; off < buf.length; ) {
          const { bytesRead } = await fh.read(buf, off, buf.length - off, r * dim * 4 + off);
          if (bytesRead === 0) throw new SemsearchError('FILE_NOT_FOUND', `cannot read ${file}: it ended early (was the temporary folder cleaned?)`, { file });
          off += bytesRead;
        }
        const q = quantizeEmbeddings(new Matrix(n, dim, data), s.precision as 'int8' | 'uint8', { ranges });
        await write((r > 0 ? ',' : '') + rowsJson(q));
      }
    } finally {
      await fh.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Texts encoded per group: batches of --batch-size, this many of them. */
const GROUP_BATCHES = 32;

/** `semsearch encode -m MODEL "text" ...`: embeddings as JSON, one array per text. */
export const encodeCommand = defineCommand({
  name: 'encode',
  usage:
    'usage: semsearch encode -m <model> [text ...]\n' +
    '       semsearch encode -m <model> [-o out.json] < lines.txt\n\n' +
    'Without texts (or with "-"), each non-empty line of standard input is a text. Lines are read, encoded and\n' +
    'written as they come (--batch-size x 32 at a time), so memory does not grow with the input; the output is one\n' +
    'JSON document, {"model", "precision", "dim", "embeddings": [[...], ...]}, written as it goes (-o: to a temporary\n' +
    'file renamed into place at the end). int8 and uint8 take their ranges from all the embeddings: beyond one group\n' +
    'the float embeddings wait in a temporary file until the last line is read.',
  options: {
    model: { ...MODEL_OPTION, required: 'encode needs --model <folder or hub name>' },
    variant: VARIANT_OPTION,
    device: DEVICE_OPTION,
    precision: { type: 'string', description: 'embedding precision (default float32)', choices: PRECISIONS },
    'batch-size': BATCH_SIZE_OPTION,
    normalize: { type: 'boolean', description: 'L2-normalise the embeddings' },
    'prompt-name': { type: 'string', description: "one of the model's prompts before every text, as encode(prompt_name=...) (default: its default_prompt_name, if any)" },
    out: { ...OUT_OPTION, description: 'write the JSON here instead of stdout (through a temporary file, renamed at the end)' },
  },
  args: [{ name: 'text', variadic: true }],
  async run({ values, args, io }) {
    const precision = values.precision ?? 'float32';
    const batchSize = values['batch-size'] ?? 32;
    if (values.out !== undefined) checkOutputPath(values.out, '--out');
    const fromStdin = args.length === 0 || (args.length === 1 && args[0] === '-');
    // Imported here, not at the top, so `encode --help` does not load ONNX Runtime.
    const { loadModel } = await import('../../encoder/load-model.js');
    const model = await loadModel(values.model, { ...(values.variant !== undefined ? { variant: values.variant } : {}), ...deviceOption(values) });
    try {
      const size = batchSize * GROUP_BATCHES;
      const groups = (fromStdin ? lineGroups(io.stdin, size) : argGroups(args, size))[Symbol.asyncIterator]();
      // Progress on stderr per batch (the total is known for arguments, not for standard input); a run done before
      // the first line is due prints none, so a pipe of a few texts stays quiet.
      const progress = commandProgress(io, 'texts', { finalLine: 'if-shown' });
      const total = fromStdin ? undefined : args.length;
      const settings = { precision, batchSize, normalize: values.normalize === true, ...(values['prompt-name'] !== undefined ? { promptName: values['prompt-name'] } : {}), onProgress: (done: number) => progress.update('encoded', done, total) };
      if (values.out === undefined) {
        await encodeGroups(model, values.model, groups, settings, (t) => writeToStream(io.stdout, t));
        await writeToStream(io.stdout, ']}\n');
      } else {
        const file = await openOutputFile(values.out, '--out');
        try {
          await encodeGroups(model, values.model, groups, settings, (t) => file.write(t));
          await file.write(']}');
          await file.commit();
        } catch (e) {
          await file.abort();
          throw e;
        }
      }
      progress.finish();
    } finally {
      await model.dispose();
    }
    return 0;
  },
});
