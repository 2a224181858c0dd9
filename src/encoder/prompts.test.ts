// Prompts as sentence-transformers 5.7 applies them (tools/reference/make_prompt_fixtures.py): the prompts dict it
// ends up with, encode_query, encode_document, encode (default_prompt_name), each prompt by name, an empty prompt,
// and include_prompt=false, on the texts of texts.json, within 1e-5.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModelFromDir } from './load-model.js';
import { decodeMatrix, materializePromptVariant, maxAbsDiff, PROMPT_VARIANTS, readPromptVectors, readTexts, type StoredMatrix } from './test-support/fixtures.js';
import type { Matrix } from '../tensor/matrix.js';

const texts = readTexts();
const vectors = readPromptVectors();
const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

function near(got: Matrix, want: StoredMatrix, what: string): void {
  const diff = maxAbsDiff(got, decodeMatrix(want));
  assert.ok(diff <= 1e-5, `${what}: max abs diff ${diff}`);
}

for (const name of PROMPT_VARIANTS) {
  describe(`prompts, ${name}: as sentence-transformers' encode_query / encode_document / encode`, () => {
    const ref = vectors[name];
    test('the prompts and default prompt name sentence-transformers loads', async () => {
      const { dir, cleanup } = materializePromptVariant(name);
      cleanups.push(cleanup);
      const model = await loadModelFromDir(dir);
      try {
        assert.deepEqual(model.config.prompts, ref.prompts);
        assert.equal(model.config.defaultPromptName, ref.default_prompt_name);
        assert.equal(model.config.modules.find((m) => m.kind === 'pooling')?.config.includePrompt, ref.include_prompt);
        near(await model.encodeQuery(texts), ref.encode_query, 'encodeQuery');
        near(await model.encodeDocument(texts), ref.encode_document, 'encodeDocument');
        near(await model.encode(texts), ref.encode, 'encode');
        near(await model.encode(texts, { prompt: '' }), ref.prompt_empty, 'encode with prompt ""');
        for (const [p, want] of Object.entries(ref.by_prompt_name)) near(await model.encode(texts, { promptName: p }), want, `encode promptName ${p}`);
        // The prompt changes the vectors (else this test would prove nothing).
        assert.ok(maxAbsDiff(await model.encodeQuery(texts.slice(0, 3)), await model.encode(texts.slice(0, 3), { prompt: '' })) > 1e-3);
      } finally {
        await model.dispose();
      }
    });
  });
}
