import { existsSync, mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { SemsearchError } from '../../errors.js';
import { detectCpu } from '../../cpu/features.js';
import { buildOnnx, INT8_FILES, int8KindFor } from '../../model/graph/build.js';
import type { GraphOptions } from '../../model/graph/encoder-graph.js';
import { defineCommand } from '../command.js';
import { checkOutputPath, writeAtomically } from '../output.js';
import { commandProgress } from '../progress.js';

/**
 * `semsearch export <model-dir>`: the ONNX graph of a folder that has weights but no export (what
 * `SentenceTransformer.save()` writes), built in TypeScript and written as onnx/model.onnx, where sentence-transformers,
 * ONNX Runtime and semsearch look for it.
 */
export const exportCommand = defineCommand({
  name: 'export',
  usage: 'usage: semsearch export <model-dir> [--int8] [--force]',
  options: {
    force: { type: 'boolean', description: 'replace an existing file' },
    int8: {
      type: 'boolean',
      description: "also write (or, where onnx/model.onnx exists, only write) the dynamic int8 graph for this CPU, under the hub's name (onnx/model_qint8_avx512_vnni.onnx: signed weights on AVX-512; onnx/model_quint8_avx2.onnx: unsigned elsewhere), which variant 'int8' then loads",
    },
  },
  args: [{ name: 'model', required: 'export needs a model folder' }],
  async run({ values, args, json, io }) {
    const dir = args[0] as string;
    const kind = values.int8 === true ? int8KindFor(detectCpu().isa) : undefined;
    const fp32 = join(dir, 'onnx', 'model.onnx');
    const targets: [string, GraphOptions][] = [[fp32, {}], ...(kind !== undefined ? [[join(dir, 'onnx', `model_${INT8_FILES[kind]}.onnx`), { int8: kind }] as [string, GraphOptions]] : [])];
    for (const [out] of targets) {
      // --int8 beside an existing onnx/model.onnx (an earlier export, or the hub's) only adds the int8 file: the
      // int8 graph is built from the weights, not from model.onnx, which stays as it is.
      if (kind !== undefined && out === fp32 && values.force !== true) continue;
      checkOutputPath(out, 'model', [], { createsFolder: true });
      if (existsSync(out) && values.force !== true) throw new SemsearchError('INVALID_ARGUMENT', `${out} already exists; pass --force to replace it with a built graph`, { file: out, field: '--force' });
    }
    if (kind !== undefined && values.force !== true && existsSync(fp32)) targets.shift();
    const written: { file: string; bytes: number; seconds: number }[] = [];
    // Per step (weights read, each layer, serialised): a real-size model with its int8 file takes about a minute. The build is synchronous, and writes to
    // a terminal or a file are too, so the line moves while it runs.
    const progress = commandProgress(io, 'steps', { finalLine: 'if-shown' });
    for (const [out, options] of targets) {
      const t0 = performance.now();
      const label = `building ${basename(out)}`;
      const bytes = buildOnnx(dir, { ...options, onProgress: (done, steps) => progress.update(label, done, steps) });
      mkdirSync(join(dir, 'onnx'), { recursive: true });
      // Written beside, then renamed: an interrupted export never leaves half a model under the name loaders read.
      await writeAtomically(out, 'model', (tmp) => writeFile(tmp, bytes));
      written.push({ file: out, bytes: bytes.length, seconds: (performance.now() - t0) / 1000 });
    }
    progress.finish();
    if (json) io.stdout.write(JSON.stringify(written.length === 1 ? written[0] : written) + '\n');
    else for (const w of written) io.stdout.write(`semsearch export: ${w.file} (${(w.bytes / 2 ** 20).toFixed(1)} MiB, built in ${w.seconds.toFixed(1)} s)\n`);
    return 0;
  },
});
