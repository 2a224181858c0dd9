import { join } from 'node:path';
import { readModelConfig } from '../model/config.js';
import { onnxFileName, TransformerSession } from '../model/onnx-session.js';
import { loadTokenizer } from '../model/tokenizer/load-tokenizer.js';
import { DenseLayer } from './dense.js';
import type { PostModule } from './encode.js';
import { SentenceTransformer } from './sentence-transformer.js';

export interface LoadModelOptions {
  /** Which ONNX file: undefined for onnx/model.onnx, or a hub variant such as "qint8_avx512_vnni" or "O3". */
  variant?: string;
  /** An explicit ONNX file path relative to the model folder; wins over `variant`. */
  onnxFile?: string;
  /** ONNX Runtime intra-op threads (default: ONNX Runtime's choice, one per core). */
  threads?: number;
}

/** Load a sentence-transformers model folder (hub layout, with an ONNX export) into a SentenceTransformer. */
export async function loadModelFromDir(dir: string, options: LoadModelOptions = {}): Promise<SentenceTransformer> {
  const config = readModelConfig(dir);
  const tokenizer = loadTokenizer(dir, config.modelType, { doLowerCase: config.doLowerCase });
  const modules: PostModule[] = [];
  for (const m of config.modules) {
    if (m.kind === 'pooling') modules.push({ kind: 'pooling', config: m.config });
    else if (m.kind === 'dense') modules.push({ kind: 'dense', layer: new DenseLayer(m.config) });
    else if (m.kind === 'normalize') modules.push({ kind: 'normalize' });
  }
  const file = join(dir, options.onnxFile ?? onnxFileName(options.variant));
  const session = await TransformerSession.create(file, options.threads !== undefined ? { intraOpThreads: options.threads } : {});
  return new SentenceTransformer(config, tokenizer, session, modules);
}
