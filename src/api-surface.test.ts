import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

// The package's public surface, pinned: adding, removing or renaming a public name fails here until this list
// (and docs/API.md) say so too. Values and types alike, read by the TypeScript checker from each entry.

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const ENTRIES: Readonly<Record<string, string>> = {
  semsearch: 'src/index.ts',
  'semsearch/corpus': 'src/corpus/index.ts',
  'semsearch/eval': 'src/eval/index.ts',
  'semsearch/server': 'src/server/index.ts',
  'semsearch/hub': 'src/hub/index.ts',
  'semsearch/opensearch': 'src/opensearch/index.ts',
};

const PUBLIC: Readonly<Record<string, readonly string[]>> = {
  'semsearch': [
    'ANN_QUANTIZATIONS', 'AnnEntry', 'AnnQuantization', 'Batching', 'BuildAnnOptions', 'BuildIndexOptions', 'BuildIvfOptions', 'IvfEntry', 'buildIvfIndex',
    'BuildProgress', 'BuildResult', 'CHUNK_SCORES', 'ChunkScore', 'ChunkSettings', 'ChunkingInfo', 'CompactOptions', 'CompactProgress', 'CROSS_ACTIVATIONS', 'CROSS_MODEL_TYPES', 'CrossActivation', 'CrossEncoder', 'CrossEncoderConfig', 'CrossModelType',
    'ERROR_CODES', 'EncodedPair', 'LoadCrossEncoderOptions', 'PredictOptions', 'RankHit', 'RankOptions', 'RerankedHit', 'TextPair', 'rerankHits', 'loadCrossEncoder', 'loadCrossEncoderFromDir', 'EncodeOptions', 'EncodeProgress', 'ErrorCode', 'FUSION_METHODS', 'FieldCondition', 'FieldType', 'FieldValue', 'Filter', 'FusionMethod', 'INDEX_PRECISIONS',
    'IndexHit', 'IndexInfo', 'IndexManifest', 'IndexPrecision', 'IndexWriter', 'IndexWriterOptions', 'LoadModelByNameOptions', 'LoadModelOptions', 'MAX_WRITE_BATCH', 'Matrix', 'MatrixLike', 'Metadata',
    'ModelConfig', 'ModelType', 'OnnxChoice', 'OpenIndexOptions', 'PRECISIONS', 'PoolingConfig', 'PoolingMode',
    'Precision', 'QuantizationRanges', 'QuantizeOptions', 'QuantizedMatrix', 'SEARCH_MODES', 'SIMILARITY_FUNCTIONS', 'ScoreFunction', 'SearchHit',
    'SearchIndex', 'SearchMode', 'SearchOptions', 'SemanticSearchOptions', 'SemsearchError', 'SemsearchErrorDetails',
    'SentenceTransformer', 'SimilarityFnName', 'Tokenizer', 'buildAnnIndex', 'buildIndex', 'cosSim', 'dotScore',
    'WriteDocument', 'WriteOptions', 'WriteResult', 'euclideanSim', 'isSemsearchError', 'loadModel', 'loadModelFromDir', 'manhattanSim', 'openIndex',
    'quantizeEmbeddings', 'semanticSearch', 'toMatrix',
  ],
  'semsearch/corpus': [
    'BeirRecord', 'CORPUS_FORMATS', 'CandidateHit', 'CandidateList', 'CorpusFormat', 'CorpusOptions', 'InputWarning',
    'Passage', 'PassageMetadata', 'QUERIES_FORMATS', 'QueriesFormat', 'ReadCandidatesOptions', 'ReadQueriesOptions',
    'ReadSmartQueriesOptions', 'ReadTopicsOptions', 'SmartDoc', 'TrecTopic', 'TsvRecord', 'WARNING_CODES',
    'WarningCode', 'WarningCount', 'WarningHandler', 'WarningTally', 'beirDocumentText', 'candidatePassages',
    'detectFormat', 'detectQueriesFormat', 'iterateBeirCorpus', 'iterateMsMarcoCollection', 'iteratePassages',
    'readBeirCorpus', 'readBeirQueries', 'readCacmQueries', 'readCandidateLists', 'readCranfieldQueries', 'readMetadataFile',
    'readMsMarcoCollection', 'readMsMarcoQueries', 'readPassages', 'readQueries', 'readSgmlTopics', 'readSmartDocs',
    'readSmartQueries', 'readTrecTopics', 'smartDocumentText', 'splitIntoPassages', 'UnmatchedMetadata',
  ],
  'semsearch/eval': [
    'CrossRerankOptions', 'DEFAULT_CROSS_DEPTH', 'PairScorer', 'crossRerankRun',
    'MINE_OUTPUT_FORMATS', 'MineCrossEncoder', 'MineOptions', 'MineOutputFormat', 'MinePairs', 'MineResult', 'MineSampling', 'mineHardNegatives', 'pairsFromQrels', 'readMinePairs',
    'DEFAULT_TREC_MEASURES', 'EvalModel', 'EvalReport', 'EvalTask', 'EvalTaskSpec', 'EvalTimings',
    'EvaluateModelOptions', 'EvaluateOptions', 'FormatReportOptions', 'ModelEvaluation', 'QRELS_FORMATS', 'Qrels',
    'QrelsFormat', 'QueryIds', 'RankedList', 'ReadCranfieldQrelsOptions', 'ReadQrelsOptions', 'ReadRunOptions',
    'ReportJson', 'ReportJsonOptions', 'RerankEncoder', 'RerankOptions', 'RerankTask', 'Retrieval', 'RetrievalTask',
    'RetrieveEncoder', 'RetrieveOptions', 'Run', 'RunLine', 'ST_DEFAULT_K', 'StIrOptions', 'StIrResult',
    'TrecEvalOptions', 'TrecEvalResult', 'WriteRunOptions', 'candidatesToRun', 'DEFAULT_RELEVANCE_LEVEL', 'maxGrade',
    'detectQrelsFormat', 'evaluateModel', 'evaluateRun', 'evaluateTrecFiles', 'formatReportTable', 'formatTrecRun',
    'iterateTrecRun', 'loadEvalTask', 'parseTrecMeasures', 'readBeirQrels', 'readCacmQrels', 'readCranfieldQrels',
    'readJudgments', 'readSmartQrels', 'readTrecQrels', 'readTrecRun', 'relevanceNote', 'RelevanceNoteOptions', 'relevantDocs', 'reportToJson',
    'rerankCandidates', 'rerankRun', 'retrieve', 'retrieveRun', 'stIrEvaluate', 'stMeasureNames', 'stQueryMetrics',
    'toQrels', 'toRun', 'trecEval', 'trecEvalQuery', 'writeTrecRun',
    'Evaluation', 'OnnxUsed', 'RunEvaluationOptions', 'runEvaluation',
  ],
  'semsearch/server': [
    'SemsearchServer', 'ServeLimits', 'ServeOptions', 'createServer',
  ],
  'semsearch/opensearch': [
    'ConnectOptions', 'DEFAULT_OVERSAMPLE', 'HnswOptions', 'OpenSearchConnection', 'OpenSearchIndex', 'OpenSearchIndexOptions', 'PushOptions', 'PushProgress',
    'PushResult', 'RemoteInfo', 'RemoteMeta', 'RemoteSearchOptions', 'Searcher', 'SpaceType', 'filterQuery', 'openOpenSearchIndex', 'pushIndex', 'similarityFromScore',
  ],
  'semsearch/hub': [
    'CpuFacts', 'DetectCpuOptions', 'DEFAULT_ORGANIZATION', 'DownloadProgress', 'INT8_PREFERENCE', 'ISAS', 'Int8Choice', 'Isa',
    'KNOWN_VARIANTS', 'ModelRef', 'NetworkOptions', 'ProgressListener', 'QUANTIZED_VARIANTS', 'QuantizedVariant',
    'ResolveModelOptions', 'chooseInt8Variant', 'detectCpu', 'hubCacheDir', 'isAccurateOn', 'onnxFilePath',
    'parseModelRef', 'resolveModel',
  ],
};

/** What an entry file exports, values and types, as TypeScript sees it. */
function exportsOf(program: ts.Program, file: string): string[] {
  const source = program.getSourceFile(join(ROOT, file));
  assert.ok(source !== undefined, file);
  const checker = program.getTypeChecker();
  const symbol = checker.getSymbolAtLocation(source);
  assert.ok(symbol !== undefined, file);
  return checker.getExportsOfModule(symbol).map((s) => s.name).sort();
}

test('the public names of semsearch and each subpath are exactly the pinned lists', () => {
  const program = ts.createProgram(
    Object.values(ENTRIES).map((f) => join(ROOT, f)),
    { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true, skipLibCheck: true, noEmit: true, types: ['node'] },
  );
  for (const [entry, file] of Object.entries(ENTRIES)) {
    const got = exportsOf(program, file);
    const want = [...(PUBLIC[entry] ?? [])].sort();
    const added = got.filter((n) => !want.includes(n));
    const removed = want.filter((n) => !got.includes(n));
    assert.deepEqual({ added, removed }, { added: [], removed: [] }, `${entry} (${file}) changed: update PUBLIC here and docs/API.md`);
  }
});

test('internals and test hooks stay out of the public surface', () => {
  const all = Object.values(PUBLIC).flat();
  for (const internal of ['compareCodePoints', 'normalizeSmartId', 'trecRanking', 'stRanking', 'iterateSmartRecords', 'datasetSpec', 'defaultDataDir', 'dl19PoolFiles', 'resolveModelWithHooks', 'ResolveTestHooks', 'planBatches']) {
    assert.ok(!all.includes(internal), internal);
  }
});

test('package.json maps each entry to its source and its build, and docs/API.md documents every public name', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { source: string; types: string; import: string }> };
  for (const [entry, file] of Object.entries(ENTRIES)) {
    const key = entry === 'semsearch' ? '.' : `./${entry.slice('semsearch/'.length)}`;
    const e = pkg.exports[key];
    assert.ok(e !== undefined, `exports["${key}"]`);
    assert.equal(e.source, `./${file}`);
    assert.equal(e.import, `./${file.replace(/^src\//, 'dist/').replace(/\.ts$/, '.js')}`);
    assert.equal(e.types, `./${file.replace(/^src\//, 'dist/').replace(/\.ts$/, '.d.ts')}`);
  }
  const api = readFileSync(join(ROOT, 'docs/API.md'), 'utf8');
  for (const [entry, names] of Object.entries(PUBLIC)) {
    assert.ok(api.includes(`'${entry}'`) || api.includes(`\`${entry}\``), `docs/API.md names ${entry}`);
    const missing = names.filter((n) => !new RegExp(`\\b${n}\\b`).test(api));
    assert.deepEqual(missing, [], `docs/API.md lacks these ${entry} names`);
  }
});

test('a user importing the package by name gets each subpath through the exports map', () => {
  const script = Object.keys(ENTRIES)
    .map((e) => `console.log(${JSON.stringify(e)}, Object.keys(await import(${JSON.stringify(e)})).sort().join(','));`)
    .join('\n');
  const r = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  for (const line of r.stdout.trim().split('\n')) {
    const [entry, names] = line.split(' ') as [string, string];
    // Runtime values are the pinned names that are not type-only.
    for (const n of names.split(',').filter((x) => x !== '')) assert.ok(PUBLIC[entry]?.includes(n), `${entry} exports ${n} at run time`);
  }
});

test('every import from the package in README.md, docs/API.md and examples/ names a public name of that entry', () => {
  const texts = ['README.md', 'docs/API.md', ...readdirSync(join(ROOT, 'examples')).map((f) => `examples/${f}`)];
  let seen = 0;
  for (const file of texts) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const m of text.matchAll(/import (type )?\{([^}]*)\} from '(semsearch(?:\/[a-z]+)?)'/g)) {
      const entry = m[3] as string;
      assert.ok(PUBLIC[entry] !== undefined, `${file}: no entry ${entry}`);
      for (const raw of (m[2] as string).split(',')) {
        const name = raw.replace(/^\s*type\s+/, '').split(/\s+as\s+/)[0]?.trim() ?? '';
        if (name === '') continue;
        seen++;
        assert.ok(PUBLIC[entry]?.includes(name), `${file} imports ${name} from '${entry}', which does not export it`);
      }
    }
  }
  assert.ok(seen > 20, `only ${seen} imported names found`);
});
