// Test support: the differential test of built graphs. tools/reference/make_graph_configs.py writes random-but-valid
// configs per family (BERT, DistilBERT, MPNet bi-encoders; their *ForSequenceClassification heads and ELECTRA's) with
// the outputs of sentence-transformers on torch; checkConfig builds each graph from model.safetensors alone and holds it
// to those outputs (within 1e-5), or to the refusal the config expects.
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCrossEncoderFromDir, type TextPair } from '../../../encoder/cross-encoder.js';
import { loadModelFromDir } from '../../../encoder/load-model.js';
import { decodeMatrix, maxAbsDiff, readTexts, type StoredMatrix } from '../../../encoder/test-support/fixtures.js';
import { isSemsearchError } from '../../../errors.js';
import { buildOnnx } from '../build.js';

export const TOLERANCE = 1e-5;

export interface OracleConfig {
  name: string;
  family: 'bert' | 'distilbert' | 'mpnet' | 'electra';
  kind: 'bi' | 'cross';
  tokenizer: string;
  settings: Record<string, unknown> & { expect: string };
  embeddings?: Record<string, StoredMatrix>;
  logits?: StoredMatrix;
}

export interface OracleManifest {
  seed: number;
  per_family: number;
  pairs: TextPair[];
  configs: OracleConfig[];
}

export interface OracleResult {
  name: string;
  family: string;
  kind: string;
  expect: string;
  ok: boolean;
  /** Largest |built − torch| over every output compared (match configs that ran). */
  maxDiff?: number;
  detail: string;
}

export function readOracleManifest(root: string): OracleManifest {
  return JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as OracleManifest;
}

/** The model folder as sentence-transformers saved it, with its vocabulary's shared tokenizer files, in a temp dir. */
function assemble(root: string, c: OracleConfig): string {
  const dir = mkdtempSync(join(tmpdir(), `semsearch-oracle-${c.name}-`));
  cpSync(join(root, c.name), dir, { recursive: true });
  for (const f of ['tokenizer.json', 'vocab.txt']) cpSync(join(root, 'tokenizers', c.tokenizer, f), join(dir, f));
  return dir;
}

/** One config: built from its checkpoint (no onnx/ folder), run through loadModel / loadCrossEncoder, compared with torch. */
export async function checkConfig(root: string, manifest: OracleManifest, c: OracleConfig): Promise<OracleResult> {
  const base = { name: c.name, family: c.family, kind: c.kind, expect: c.settings.expect };
  const dir = assemble(root, c);
  try {
    if (c.settings.expect !== 'match') {
      try {
        buildOnnx(dir, c.kind === 'cross' ? { head: 'classification' } : {});
      } catch (e) {
        const ok = isSemsearchError(e) && e.code === c.settings.expect;
        return { ...base, ok, detail: ok ? `refused: ${(e as Error).message}` : `expected ${c.settings.expect}, got ${String(e)}` };
      }
      return { ...base, ok: false, detail: `expected ${c.settings.expect}, but the graph was built` };
    }
    let maxDiff = 0;
    const parts: string[] = [];
    if (c.kind === 'bi') {
      const model = await loadModelFromDir(dir, { workers: 1 });
      try {
        if (model.onnxChoice.requested !== 'built') return { ...base, ok: false, detail: `not built: ${model.onnxChoice.requested}` };
        const texts = readTexts();
        for (const [bs, want] of Object.entries(c.embeddings ?? {})) {
          const d = maxAbsDiff(await model.encode(texts, { batchSize: Number(bs) }), decodeMatrix(want));
          maxDiff = Math.max(maxDiff, d);
          parts.push(`batch ${bs}: ${d.toExponential(2)}`);
        }
      } finally {
        await model.dispose();
      }
    } else {
      const model = await loadCrossEncoderFromDir(dir, { workers: 1 });
      try {
        if (model.onnxChoice.requested !== 'built') return { ...base, ok: false, detail: `not built: ${model.onnxChoice.requested}` };
        const d = maxAbsDiff(await model.predict(manifest.pairs, { activation: 'identity', batchSize: 32 }), decodeMatrix(c.logits as StoredMatrix));
        maxDiff = d;
        parts.push(`logits: ${d.toExponential(2)}`);
      } finally {
        await model.dispose();
      }
    }
    const ok = maxDiff <= TOLERANCE;
    return { ...base, ok, maxDiff, detail: `max |diff| ${parts.join(', ')}` };
  } catch (e) {
    return { ...base, ok: false, detail: `threw ${String(e)}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What a config drew, in one line (for failure messages and the script's report). */
export function describeSettings(c: OracleConfig): string {
  const { seed: _seed, expect: _expect, tokenizer: _tok, ...rest } = c.settings;
  return JSON.stringify(rest);
}
