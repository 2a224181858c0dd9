import { SemsearchError } from '../../errors.js';
import { describeRuntime, formatRuntimeReport } from '../../encoder/runtime-report.js';
import { helpText, parseArgs, type FlagSpec } from '../args.js';
import type { Command } from '../command.js';

const FLAGS: FlagSpec = {
  model: { type: 'string', short: 'm', description: 'also show the ONNX file each precision of this model would load (a folder, or a hub name already in the cache)' },
  json: { type: 'boolean', description: 'print JSON' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

/** `semsearch doctor [-m MODEL]`: the CPU, ONNX Runtime and thread facts that decide speed and which int8 file runs. */
export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'show CPU features, ONNX Runtime, threads, and the ONNX file each precision would use',
  async run(argv, io) {
    const { flags, positionals } = parseArgs(argv, FLAGS);
    if (flags['help'] === true) {
      io.stdout.write(helpText('usage: semsearch doctor [-m <model>]', FLAGS));
      return 0;
    }
    if (positionals.length > 0) {
      throw new SemsearchError('INVALID_ARGUMENT', `doctor takes no arguments, got ${positionals.map((p) => JSON.stringify(p)).join(' ')}; a model goes after -m`, { field: positionals[0] as string });
    }
    const model = typeof flags['model'] === 'string' ? flags['model'] : undefined;
    const report = await describeRuntime(model !== undefined ? { model } : {});
    io.stdout.write(flags['json'] === true ? JSON.stringify(report) + '\n' : formatRuntimeReport(report));
    return 0;
  },
};
