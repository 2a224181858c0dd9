import { detectCpu } from '../../cpu/features.js';
import { inaccuracyWarning } from '../../cpu/int8.js';
import { variantOfFile } from '../../hub/model-files.js';
import { formatBytes } from '../../hub/progress.js';
import { defineCommand } from '../command.js';

/** `semsearch info <index>`: what an index holds and how big it is. */
export const infoCommand = defineCommand({
  name: 'info',
  usage: 'usage: semsearch info <index-dir>',
  options: {},
  args: [{ name: 'index', required: 'info needs an index folder' }],
  async run({ args, json, io }) {
    const dir = args[0] as string;
    // The manifest and file sizes say it all: no model load, no shard hashing.
    const { readIndexInfo } = await import('../../store/search-index.js');
    const i = readIndexInfo(dir);
    const cpu = detectCpu();
    const variant = variantOfFile(i.onnxFile);
    const drift = variant === undefined ? undefined : inaccuracyWarning(variant, cpu.isa);
    if (json) io.stdout.write(JSON.stringify({ ...i, cpu, ...(drift !== undefined ? { onnxWarning: drift } : {}) }) + '\n');
    else {
      io.stdout.write(
        [
          `index      ${i.dir}`,
          `model      ${i.model} (${i.modelType}, ${i.similarity})`,
          `passages   ${i.live}${i.chunking !== undefined ? ' documents' : ''}${i.complete ? '' : ' (partial: run semsearch index again to finish)'}${i.deleted > 0 ? ` (and ${i.deleted} deleted rows until semsearch compact)` : ''}`,
          ...(i.chunking !== undefined ? [`chunked    ${i.chunking.windows} windows of at most ${i.chunking.maxTokens} tokens, overlap ${i.chunking.overlap}`] : []),
          ...(i.generation > 0 ? [`writes     ${i.generation} committed since the build`] : []),
          ...(Object.keys(i.fields).length > 0 ? [`fields     ${Object.entries(i.fields).map(([n, t]) => `${n} (${t})`).join(', ')}`] : []),
          `vectors    dim ${i.dim}, ${i.precision}, ${i.shards} shards, ${formatBytes(i.vectorBytes, { binary: true })}`,
          `documents  ${formatBytes(i.docStoreBytes, { binary: true })}`,
          ...(i.ivf !== undefined ? [`ivf        ${i.ivf.nlist} lists, ${i.ivf.nprobe} probed by default, over the first ${i.ivf.rows} rows, ${formatBytes(i.ivf.bytes, { binary: true })}`] : []),
          `onnx       ${i.onnxFile}${drift !== undefined ? ` (drifts on this CPU: ${cpu.isa})` : ''}`,
          `cpu        ${cpu.model} (${cpu.isa})`,
        ].join('\n') + '\n',
      );
    }
    return 0;
  },
});
