import { defineCommand } from '../command.js';

/** `semsearch doctor [-m MODEL]`: the CPU, ONNX Runtime and thread facts that decide speed and which int8 file runs. */
export const doctorCommand = defineCommand({
  name: 'doctor',
  usage: 'usage: semsearch doctor [-m <model>]',
  options: {
    model: { type: 'string', short: 'm', description: 'also show the ONNX file each precision of this model would load (a folder, or a hub name already in the cache)' },
  },
  async run({ values, json, io }) {
    // Imported here, not at the top, so `doctor --help` loads none of them (nor ONNX Runtime, SQLite or usearch).
    const [{ describeRuntime, formatRuntimeReport }, { INDEX_MODEL_WORKERS }, { serveParallelism }] = await Promise.all([
      import('../../encoder/runtime-report.js'),
      import('../../store/search-index.js'),
      import('../../server/options.js'),
    ]);
    // serve's defaults as the server resolves them, beside loadModel's (which runtime-report reads itself): both from defaultParallelism.
    const serve = serveParallelism({});
    const report = await describeRuntime({ serve, indexWorkers: INDEX_MODEL_WORKERS, ...(values.model !== undefined ? { model: values.model } : {}) });
    io.stdout.write(json ? JSON.stringify(report) + '\n' : formatRuntimeReport(report));
    return 0;
  },
});
