import { loadModel, dotScore } from 'semsearch';

const MODEL = process.env.MODEL || 'src/model/fixtures/models/bert';
const model = await loadModel(MODEL);

const queryEmbedding = await model.encode('How big is London');
const passageEmbeddings = await model.encode([
  'London has 9,787,426 inhabitants at the 2011 census',
  'London is known for its financial district',
]);

const scores = dotScore(queryEmbedding, passageEmbeddings);
console.log('Similarity:', Array.from(scores.row(0)));
await model.dispose();
