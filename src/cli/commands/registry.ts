import type { Command } from '../command.js';

/**
 * Every CLI command, in the order `semsearch --help` lists them, with the line that list shows. A command's module
 * (and the native modules it needs: ONNX Runtime, SQLite, usearch) is imported only when that command runs, so
 * `semsearch --version` and `semsearch --help` cost little more than starting node. Add new commands here.
 */
export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}

export const COMMANDS: readonly CommandEntry[] = [
  { name: 'index', summary: 'encode a corpus into an index folder (resumable: run it again after a crash)', load: async () => (await import('./index-corpus.js')).indexCommand },
  { name: 'add', summary: 'add or replace passages of a corpus file in an index (upsert by id), without rebuilding it', load: async () => (await import('./write.js')).addCommand },
  { name: 'delete', summary: 'delete passages from an index by id (tombstones until semsearch compact)', load: async () => (await import('./write.js')).deleteCommand },
  { name: 'compact', summary: 'rewrite an index without its deleted rows (shards, document store and graph)', load: async () => (await import('./write.js')).compactCommand },
  { name: 'search', summary: 'search an index; without a query, read queries interactively (one per line)', load: async () => (await import('./search.js')).searchCommand },
  { name: 'push', summary: 'copy a local index (vectors, texts, metadata) into an OpenSearch index, resumably; run again to sync later writes', load: async () => (await import('./push.js')).pushCommand },
  { name: 'info', summary: "show an index's model, size, dimensions and precision", load: async () => (await import('./info.js')).infoCommand },
  { name: 'encode', summary: 'encode texts (arguments, or lines on stdin) and print the embeddings as JSON', load: async () => (await import('./encode.js')).encodeCommand },
  { name: 'eval', summary: 'evaluate a model (re-rank a run or search a corpus) or score a run file: MRR@10, NDCG@10, ...', load: async () => (await import('./eval.js')).evalCommand },
  { name: 'mine', summary: "mine hard negatives for (anchor, positive) pairs, as sentence-transformers' mine_hard_negatives", load: async () => (await import('./mine.js')).mineCommand },
  { name: 'serve', summary: 'serve an index over HTTP: search, encode, similarity and document write endpoints and a search page', load: async () => (await import('./serve.js')).serveCommand },
  { name: 'export', summary: 'build onnx/model.onnx for a model folder that has model.safetensors and no ONNX export (BERT, DistilBERT, MPNet)', load: async () => (await import('./export.js')).exportCommand },
  { name: 'doctor', summary: 'show CPU features, ONNX Runtime, threads, the devices (cpu, cuda) and the ONNX file each precision would use', load: async () => (await import('./doctor.js')).doctorCommand },
];
