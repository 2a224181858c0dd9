import { describeRuntime, formatRuntimeReport } from '../../encoder/runtime-report.js';
import { defineCommand } from '../command.js';

/** `semsearch doctor [-m MODEL]`: the CPU, ONNX Runtime and thread facts that decide speed and which int8 file runs. */
export const doctorCommand = defineCommand({
  name: 'doctor',
  usage: 'usage: semsearch doctor [-m <model>]',
  options: {
    model: { type: 'string', short: 'm', description: 'also show the ONNX file each precision of this model would load (a folder, or a hub name already in the cache)' },
  },
  async run({ values, json, io }) {
    const report = await describeRuntime(values.model !== undefined ? { model: values.model } : {});
    io.stdout.write(json ? JSON.stringify(report) + '\n' : formatRuntimeReport(report));
    return 0;
  },
});
