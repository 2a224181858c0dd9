import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { loadModelFromDir } from '../encoder/load-model.js';
import { normalizeRows } from '../encoder/normalize.js';
import type { SentenceTransformer } from '../encoder/sentence-transformer.js';
import { Matrix } from '../tensor/matrix.js';
import { cleanBuild, passageText, type Content } from '../store/test-support/living.js';
import { DEFAULT_LIMITS } from './schemas.js';
import { createServer, type SemsearchServer } from './server.js';
import { BERT, postJson } from './test-support/fixture.js';

const LIMITS = { ...DEFAULT_LIMITS, maxTexts: 8 };
const TEXTS = ['How big is London', 'London has 9,787,426 inhabitants at the 2011 census', 'London is known for its financial district'];

function close(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.equal(got.length, want.length, what);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs((got[i] as number) - (want[i] as number)) < 1e-6, `${what}[${i}]: ${got[i]} vs ${want[i]}`);
}

describe('the embedding APIs clients already speak', () => {
  let tmp: string;
  let model: SentenceTransformer;
  let server: SemsearchServer;
  let client: OpenAI;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'semsearch-compat-'));
    model = await loadModelFromDir(BERT);
    const content = new Map<string, Content>(Array.from({ length: 20 }, (_, i) => [`p${i}`, { text: passageText(i) }]));
    server = await createServer({ index: await cleanBuild(tmp, 'compat', content, model, BERT), limits: LIMITS, log: () => undefined });
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
  });
  after(async () => {
    await server?.close();
    await model?.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('the official openai client: embeddings as the library computes them, base64 (its default) and float, usage, models', async () => {
    const models = await client.models.list();
    assert.deepEqual(models.data.map((m) => m.id), ['bert']);
    const want = (await model.encode(TEXTS)) as Matrix;
    const viaBase64 = await client.embeddings.create({ model: 'bert', input: TEXTS });
    assert.equal(viaBase64.object, 'list');
    assert.equal(viaBase64.model, 'bert');
    assert.equal(viaBase64.data.length, 3);
    viaBase64.data.forEach((d, i) => {
      assert.equal(d.index, i);
      close(d.embedding, want.row(i), `base64 row ${i}`);
    });
    const tokens = TEXTS.map((t) => model.tokenizer.encode(t, model.maxSeqLength).length);
    assert.deepEqual(viaBase64.usage, { prompt_tokens: tokens.reduce((a, b) => a + b, 0), total_tokens: tokens.reduce((a, b) => a + b, 0) });
    const viaFloat = await client.embeddings.create({ model: 'bert', input: TEXTS[0] as string, encoding_format: 'float' });
    close(viaFloat.data[0]?.embedding ?? [], want.row(0), 'float');
    // Token arrays: the model's own ids, without special tokens, embed as the text they tokenize.
    const ids = model.tokenizer.encode(TEXTS[1] as string).slice(1, -1);
    const viaIds = await client.embeddings.create({ model: 'bert', input: [ids, ids.slice(0, 3)], encoding_format: 'float' });
    close(viaIds.data[0]?.embedding ?? [], want.row(1), 'token ids');
    assert.equal(viaIds.usage.prompt_tokens, ids.length + 2 + 3 + 2);
    const single = await client.embeddings.create({ model: 'bert', input: ids, encoding_format: 'float' });
    close(single.data[0]?.embedding ?? [], want.row(1), 'one token list');
  });

  test('errors come back in OpenAI\'s shape, and the client raises them with their status', async () => {
    const cases: [Record<string, unknown>, number, string, string | null][] = [
      [{ model: 'gpt-4', input: 'x' }, 404, 'model_not_found', 'model'],
      [{ model: 'bert', input: [] }, 400, 'EMPTY_INPUT', 'input'],
      [{ model: 'bert', input: 'x', encoding_format: 'int8' }, 400, 'INVALID_ARGUMENT', 'encoding_format'],
      [{ model: 'bert', input: 'x', dimensions: 8 }, 400, 'INVALID_ARGUMENT', 'dimensions'],
      [{ model: 'bert', input: Array.from({ length: 9 }, () => 'x') }, 400, 'LIMIT_EXCEEDED', 'input'],
      [{ model: 'bert', input: [[1, 2], 'x'] }, 400, 'INVALID_ARGUMENT', 'input'],
      [{ model: 'bert', input: [[1, 99999999]] }, 400, 'INVALID_ARGUMENT', 'input[0][1]'],
    ];
    for (const [body, status, code, param] of cases) {
      const r = await postJson(`${server.url}/v1/embeddings`, body);
      assert.equal(r.status, status, r.text);
      const e = (r.json as { error: { message: string; type: string; param: string | null; code: string } }).error;
      assert.equal(e.code, code, r.text);
      assert.equal(e.param, param, r.text);
      assert.equal(e.type, 'invalid_request_error');
      assert.ok(e.message.length > 0);
    }
    await assert.rejects(client.embeddings.create({ model: 'gpt-4', input: 'x' }), (e: unknown) => {
      assert.ok(e instanceof OpenAI.APIError);
      assert.equal(e.status, 404);
      assert.equal(e.code, 'model_not_found');
      return true;
    });
    const notJson = await postJson(`${server.url}/v1/embeddings`, '{nope');
    assert.equal(notJson.status, 400);
    assert.equal((notJson.json as { error: { code: string } }).error.code, 'INVALID_JSON');
  });

  test('text-embeddings-inference\'s /embed: normalised by default, over-long inputs refused unless truncate, its error shape', async () => {
    const want = normalizeRows((await model.encode(TEXTS)) as Matrix);
    const r = await postJson(`${server.url}/embed`, { inputs: TEXTS });
    assert.equal(r.status, 200, r.text);
    const rows = JSON.parse(r.text) as number[][];
    rows.forEach((row, i) => close(row, want.row(i), `/embed row ${i}`));
    const raw = JSON.parse((await postJson(`${server.url}/embed`, { inputs: TEXTS[0], normalize: false })).text) as number[][];
    close(raw[0] ?? [], ((await model.encode([TEXTS[0] as string])) as Matrix).row(0), 'normalize false');
    const long = Array.from({ length: 400 }, (_, i) => `word${i}`).join(' ');
    const refused = await postJson(`${server.url}/embed`, { inputs: [long] });
    assert.equal(refused.status, 413, refused.text);
    assert.equal((refused.json as { error_type: string }).error_type, 'validation');
    assert.match((refused.json as { error: string }).error, /more than the \d+ tokens the model reads/);
    const cut = await postJson(`${server.url}/embed`, { inputs: [long], truncate: true });
    assert.equal(cut.status, 200);
    close((JSON.parse(cut.text) as number[][])[0] ?? [], normalizeRows((await model.encode([long])) as Matrix).row(0), 'truncate true');
    const wrong = await postJson(`${server.url}/embed`, { inputs: [1, 2] });
    assert.equal(wrong.status, 422);
    assert.deepEqual(Object.keys(wrong.json).sort(), ['error', 'error_type']);
  });

  test('/metrics shows where the time goes, by stage', async () => {
    await postJson(`${server.url}/search`, { query: 'london bridge', k: 3 });
    await postJson(`${server.url}/encode`, { texts: ['x'] });
    const text = await (await fetch(`${server.url}/metrics`)).text();
    for (const stage of ['queue', 'tokenize', 'inference', 'search', 'fetch', 'serialize']) {
      const count = Number(new RegExp(`^semsearch_stage_duration_seconds_count\\{stage="${stage}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
      assert.ok(count >= 1, `stage ${stage} observed`);
    }
  });
});
