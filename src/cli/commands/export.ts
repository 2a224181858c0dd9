import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SemsearchError } from '../../errors.js';
import { buildOnnx } from '../../model/graph/build.js';
import { defineCommand } from '../command.js';

/**
 * `semsearch export <model-dir>`: the ONNX graph of a folder that has weights but no export (what
 * `SentenceTransformer.save()` writes), built in TypeScript and written as onnx/model.onnx, where sentence-transformers,
 * ONNX Runtime and semsearch look for it.
 */
export const exportCommand = defineCommand({
  name: 'export',
  summary: 'build onnx/model.onnx for a model folder that has model.safetensors and no ONNX export (BERT, DistilBERT, MPNet)',
  usage: 'usage: semsearch export <model-dir> [--force]',
  options: {
    force: { type: 'boolean', description: 'replace an existing onnx/model.onnx' },
  },
  args: [{ name: 'model', required: 'export needs a model folder' }],
  async run({ values, args, json, io }) {
    const dir = args[0] as string;
    const out = join(dir, 'onnx', 'model.onnx');
    if (existsSync(out) && values.force !== true) {
      throw new SemsearchError('INVALID_ARGUMENT', `${out} already exists; pass --force to replace it with a built graph`, { file: out, field: '--force' });
    }
    const t0 = performance.now();
    const bytes = buildOnnx(dir);
    mkdirSync(join(dir, 'onnx'), { recursive: true });
    // Written beside, then renamed: an interrupted export never leaves half a model under the name loaders read.
    const tmp = `${out}.${process.pid}.tmp`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, out);
    const seconds = (performance.now() - t0) / 1000;
    if (json) io.stdout.write(JSON.stringify({ file: out, bytes: bytes.length, seconds }) + '\n');
    else io.stdout.write(`semsearch export: ${out} (${(bytes.length / 2 ** 20).toFixed(1)} MiB, built in ${seconds.toFixed(1)} s)\n`);
    return 0;
  },
});
