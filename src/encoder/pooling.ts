import type { PoolingConfig } from '../model/config.js';
import type { TokenEmbeddings } from '../model/onnx-session.js';
import { Matrix } from '../tensor/matrix.js';

/**
 * Which positions of each row take part in pooling: [start, end). Batches are right-padded, so a row's
 * real tokens are a prefix; excluding a prompt moves `start` past it, as sentence-transformers'
 * include_prompt=false does by zeroing those mask positions.
 */
export interface PoolingSpans {
  start: Int32Array;
  end: Int32Array;
}

/** Pool token embeddings into one vector per row, modes concatenated in the configured order. */
export function pool(tokens: TokenEmbeddings, spans: PoolingSpans, config: PoolingConfig): Matrix {
  const { batchSize, seqLen, hidden, data } = tokens;
  const out = new Matrix(batchSize, hidden * config.modes.length);
  const acc = new Float64Array(hidden);
  for (let r = 0; r < batchSize; r++) {
    const s = spans.start[r] as number;
    const e = spans.end[r] as number;
    const rowBase = r * seqLen * hidden;
    config.modes.forEach((mode, m) => {
      const dst = r * out.dim + m * hidden;
      switch (mode) {
        case 'cls': {
          // The first position the mask keeps: the [CLS] token, or the first one after an excluded prompt.
          const src = rowBase + s * hidden;
          for (let h = 0; h < hidden; h++) out.data[dst + h] = data[src + h] as number;
          break;
        }
        case 'lasttoken': {
          const src = rowBase + Math.max(e - 1, 0) * hidden;
          for (let h = 0; h < hidden; h++) out.data[dst + h] = e > s ? (data[src + h] as number) : 0;
          break;
        }
        case 'max': {
          for (let h = 0; h < hidden; h++) {
            let best = Number.NEGATIVE_INFINITY;
            for (let t = s; t < e; t++) {
              const v = data[rowBase + t * hidden + h] as number;
              if (v > best) best = v;
            }
            out.data[dst + h] = best;
          }
          break;
        }
        case 'mean':
        case 'mean_sqrt_len_tokens':
        case 'weightedmean': {
          acc.fill(0);
          let weightSum = 0;
          for (let t = s; t < e; t++) {
            // weightedmean weighs position t (0-based) by t+1, over the whole padded row as sentence-transformers does.
            const w = mode === 'weightedmean' ? t + 1 : 1;
            weightSum += w;
            const base = rowBase + t * hidden;
            for (let h = 0; h < hidden; h++) acc[h] = (acc[h] as number) + w * (data[base + h] as number);
          }
          const denom = Math.fround(Math.max(weightSum, 1e-9));
          const div = mode === 'mean_sqrt_len_tokens' ? Math.fround(Math.sqrt(denom)) : denom;
          for (let h = 0; h < hidden; h++) out.data[dst + h] = (acc[h] as number) / div;
          break;
        }
      }
    });
  }
  return out;
}
