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
import type { Matrix } from '../../../tensor/matrix.js';
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
  /** The same outputs from the model cast to float64 (batch size 32), stored as float32. */
  embeddings_f64?: StoredMatrix;
  logits_f64?: StoredMatrix;
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
    // Beyond 1e-5, the graph passes only if it is no further from float64 than torch's float32 output is.
    let asExact = true;
    const againstF64 = (got: Matrix, torch32: Matrix, f64: StoredMatrix | undefined): void => {
      if (f64 === undefined) return void (asExact = false);
      const exact = decodeMatrix(f64);
      const built = maxAbsDiff(got, exact);
      const torch = maxAbsDiff(torch32, exact);
      asExact &&= built <= torch + 1e-7;
      parts.push(`from float64: built ${built.toExponential(2)}, torch float32 ${torch.toExponential(2)}`);
    };
    if (c.kind === 'bi') {
      const model = await loadModelFromDir(dir, { workers: 1 });
      try {
        if (model.onnxChoice.requested !== 'built') return { ...base, ok: false, detail: `not built: ${model.onnxChoice.requested}` };
        const texts = readTexts();
        for (const [bs, want] of Object.entries(c.embeddings ?? {})) {
          const got = await model.encode(texts, { batchSize: Number(bs) });
          const d = maxAbsDiff(got, decodeMatrix(want));
          maxDiff = Math.max(maxDiff, d);
          parts.push(`batch ${bs}: ${d.toExponential(2)}`);
          if (d > TOLERANCE) againstF64(got, decodeMatrix(want), c.embeddings_f64);
        }
      } finally {
        await model.dispose();
      }
    } else {
      const model = await loadCrossEncoderFromDir(dir, { workers: 1 });
      try {
        if (model.onnxChoice.requested !== 'built') return { ...base, ok: false, detail: `not built: ${model.onnxChoice.requested}` };
        const got = await model.predict(manifest.pairs, { activation: 'identity', batchSize: 32 });
        const want = decodeMatrix(c.logits as StoredMatrix);
        const d = maxAbsDiff(got, want);
        maxDiff = d;
        parts.push(`logits: ${d.toExponential(2)}`);
        if (d > TOLERANCE) againstF64(got, want, c.logits_f64);
      } finally {
        await model.dispose();
      }
    }
    const ok = maxDiff <= TOLERANCE || asExact;
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
