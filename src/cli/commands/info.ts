import { detectCpu } from '../../cpu/features.js';
import { inaccuracyWarning } from '../../cpu/int8.js';
import { SemsearchError } from '../../errors.js';
import { variantOfFile } from '../../hub/model-files.js';
import { formatBytes } from '../../hub/progress.js';
import { readIndexInfo } from '../../store/search-index.js';
import { helpText, parseArgs, type FlagSpec } from '../args.js';
import type { Command } from '../command.js';

const FLAGS: FlagSpec = {
  json: { type: 'boolean', description: 'print JSON' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

/** `semsearch info <index>`: what an index holds and how big it is. */
export const infoCommand: Command = {
  name: 'info',
  summary: "show an index's model, size, dimensions and precision",
  async run(argv, io) {
    const { positionals, flags } = parseArgs(argv, FLAGS);
    if (flags['help'] === true) {
      io.stdout.write(helpText('usage: semsearch info <index-dir>', FLAGS));
      return 0;
    }
    const dir = positionals[0];
    if (dir === undefined) throw new SemsearchError('INVALID_ARGUMENT', 'info needs an index folder', { field: 'index' });
    // The manifest and file sizes say it all: no model load, no shard hashing.
    const i = readIndexInfo(dir);
    const cpu = detectCpu();
    const variant = variantOfFile(i.onnxFile);
    const drift = variant === undefined ? undefined : inaccuracyWarning(variant, cpu.isa);
    if (flags['json'] === true) io.stdout.write(JSON.stringify({ ...i, cpu, ...(drift !== undefined ? { onnxWarning: drift } : {}) }) + '\n');
    else {
      io.stdout.write(
        [
          `index      ${i.dir}`,
          `model      ${i.model} (${i.modelType}, ${i.similarity})`,
          `passages   ${i.count}${i.complete ? '' : ' (partial: run semsearch index again to finish)'}`,
          `vectors    dim ${i.dim}, ${i.precision}, ${i.shards} shards, ${formatBytes(i.vectorBytes, { binary: true })}`,
          `documents  ${formatBytes(i.docStoreBytes, { binary: true })}`,
          `onnx       ${i.onnxFile}${drift !== undefined ? ` (drifts on this CPU: ${cpu.isa})` : ''}`,
          `cpu        ${cpu.model} (${cpu.isa})`,
        ].join('\n') + '\n',
      );
    }
    return 0;
  },
};
