import { openIndex } from 'semsearch';

const index = await openIndex(process.env.INDEX ?? 'dl19-index'); // a built index (above); writes need no rebuild
await index.upsert([
  { id: 'goldfish-faq-2', text: 'A goldfish can outgrow a small tank within a year.', metadata: { year: 2024, source: 'faq' } },
  { id: 'goldfish-study-1', text: 'Juvenile goldfish grew fastest at 24 degrees.', metadata: { year: 2023, source: 'study' } }, // replaces it
]);
const [recent] = await index.search('do goldfish grow', 3, { filter: { year: { gte: 2020 } } });
for (const h of recent ?? []) console.log(h.score.toFixed(3), h.id, JSON.stringify(h.metadata));
const [mixed] = await index.search('goldfish tank', 3, { mode: 'hybrid', filter: { not: { source: 'blog' } } });
for (const h of mixed ?? []) console.log('hybrid', h.id);
await index.delete(['goldfish-faq-2']);
console.log(index.count, 'documents');
await index.close();
