import { writeFileSync } from 'node:fs';
import { loadModel } from '../../encoder/load-model.js';
import { PRECISIONS } from '../../tensor/quantize.js';
import { defineCommand } from '../command.js';
import { BATCH_SIZE_OPTION, DEVICE_OPTION, MODEL_OPTION, VARIANT_OPTION, deviceOption } from '../options.js';

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
export const encodeCommand = defineCommand({
  name: 'encode',
  usage: 'usage: semsearch encode -m <model> [text ...]',
  options: {
    model: { ...MODEL_OPTION, required: 'encode needs --model <folder or hub name>' },
    variant: VARIANT_OPTION,
    device: DEVICE_OPTION,
    precision: { type: 'string', description: 'embedding precision (default float32)', choices: PRECISIONS },
    'batch-size': BATCH_SIZE_OPTION,
    normalize: { type: 'boolean', description: 'L2-normalise the embeddings' },
    out: { type: 'string', short: 'o', description: 'write the JSON here instead of stdout' },
  },
  args: [{ name: 'text', variadic: true }],
  async run({ values, args, io }) {
    const precision = values.precision ?? 'float32';
    let texts = args;
    if (texts.length === 0) {
      texts = (await readAllText(io.stdin)).split('\n').filter((l) => l.length > 0);
    }
    const model = await loadModel(values.model, { ...(values.variant !== undefined ? { variant: values.variant } : {}), ...deviceOption(values) });
    try {
      // encode's overloads type the result by precision; every precision's result has rows, dim and data.
      const out = await model.encode(texts, { precision: precision as 'float32', batchSize: values['batch-size'] ?? 32, normalize: values.normalize === true });
      const rows: number[][] = [];
      for (let r = 0; r < out.rows; r++) rows.push(Array.from(out.data.subarray(r * out.dim, (r + 1) * out.dim)));
      const json = JSON.stringify({ model: values.model, precision, dim: out.dim, embeddings: rows });
      if (values.out !== undefined) writeFileSync(values.out, json);
      else io.stdout.write(json + '\n');
    } finally {
      await model.dispose();
    }
    return 0;
  },
});
