import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { SentenceTransformer } from '../encoder/sentence-transformer.js';

const CONFIG_FILES = ['config.json', 'modules.json', 'sentence_bert_config.json', 'config_sentence_transformers.json', 'tokenizer.json', 'vocab.txt'];

/**
 * A hash of what decides a model's vectors: its configuration files, its pooling, and its ONNX file (size plus
 * first and last MiB, so a 400 MB file is not read whole on every load). Queries must match the corpus model.
 */
export function modelFingerprint(model: SentenceTransformer): string {
  const h = createHash('sha256');
  const dir = model.config.dir;
  for (const f of CONFIG_FILES) {
    const p = join(dir, f);
    if (existsSync(p)) h.update(f).update(readFileSync(p));
  }
  h.update(JSON.stringify(model.config.modules));
  const fd = openSync(model.onnxFile, 'r');
  try {
    const size = fstatSync(fd).size;
    h.update(String(size));
    const chunk = Buffer.alloc(Math.min(size, 1 << 20));
    readSync(fd, chunk, 0, chunk.length, 0);
    h.update(chunk);
    readSync(fd, chunk, 0, chunk.length, Math.max(0, size - chunk.length));
    h.update(chunk);
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}
