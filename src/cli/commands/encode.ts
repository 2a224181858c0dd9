import { writeFileSync } from 'node:fs';
import { loadModel } from '../../encoder/load-model.js';
import { SemsearchError } from '../../errors.js';
import { isPrecision } from '../../tensor/quantize.js';
import { helpText, parseArgs, type FlagSpec } from '../args.js';
import type { Command } from '../command.js';

const FLAGS: FlagSpec = {
  model: { type: 'string', short: 'm', description: 'model folder or hub name (required)' },
  variant: { type: 'string', description: "ONNX variant: 'int8' for the quantized file accurate on this CPU, or a hub variant such as O2 or quint8_avx2" },
  precision: { type: 'string', description: 'float32 (default), int8, uint8, binary, ubinary' },
  'batch-size': { type: 'number', description: 'texts per forward pass (default 32)' },
  normalize: { type: 'boolean', description: 'L2-normalise the embeddings' },
  out: { type: 'string', short: 'o', description: 'write JSON here instead of stdout' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

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

/** `semsearch encode -m MODEL "text" ...`: embeddings as JSON, one array per text. */
export const encodeCommand: Command = {
  name: 'encode',
  summary: 'encode texts (arguments, or lines on stdin) and print the embeddings as JSON',
  async run(argv, io) {
    const { positionals, flags } = parseArgs(argv, FLAGS);
    if (flags['help'] === true) {
      io.stdout.write(helpText('usage: semsearch encode -m <model> [text ...]', FLAGS));
      return 0;
    }
    const modelName = flags['model'];
    if (typeof modelName !== 'string') throw new SemsearchError('INVALID_ARGUMENT', 'encode needs --model <folder or hub name>', { field: '--model' });
    const precision = (flags['precision'] as string | undefined) ?? 'float32';
    if (!isPrecision(precision)) throw new SemsearchError('INVALID_ARGUMENT', `--precision must be float32, int8, uint8, binary or ubinary`, { field: '--precision' });
    let texts = positionals;
    if (texts.length === 0) {
      texts = (await readAllText(io.stdin)).split('\n').filter((l) => l.length > 0);
    }
    const model = await loadModel(modelName, typeof flags['variant'] === 'string' ? { variant: flags['variant'] } : {});
    try {
      const out = await model.encode(texts, {
        precision: precision as 'float32',
        batchSize: (flags['batch-size'] as number | undefined) ?? 32,
        normalize: flags['normalize'] === true,
      });
      const rows: number[][] = [];
      for (let r = 0; r < out.rows; r++) rows.push(Array.from(out.data.subarray(r * out.dim, (r + 1) * out.dim)));
      const json = JSON.stringify({ model: modelName, precision, dim: out.dim, embeddings: rows });
      if (typeof flags['out'] === 'string') writeFileSync(flags['out'], json);
      else io.stdout.write(json + '\n');
    } finally {
      await model.dispose();
    }
    return 0;
  },
};
