import Database from 'better-sqlite3';
import { SemsearchError } from '../errors.js';
import { sqliteError } from './io-errors.js';
import { fieldColumn, sqlValue, type CompiledFilter, type Metadata } from './filter.js';
import type { FieldType } from './manifest.js';

/** Where a row's text lies in its document, in a chunked index: window number and UTF-16 offsets (end exclusive). */
export interface ChunkSpan {
  number: number;
  start: number;
  end: number;
}

export interface StoredDoc {
  index: number;
  id: string;
  text: string;
  /** Chunked indexes: the window of the document this row holds (its text is that span). */
  chunk?: ChunkSpan;
  /** The document's metadata fields that have a value (absent when it has none). */
  metadata?: Metadata;
}

/** A row to store: its passage id, text and metadata. */
export interface DocRow {
  id: string;
  text: string;
  chunk?: ChunkSpan | undefined;
  metadata?: Metadata | undefined;
}

/**
 * What one reader sees: the rows the manifest it holds commits. Rows past `count` belong to a write not yet
 * committed; a row deleted by a generation after `generation` is still live to it.
 */
export interface StoreView {
  count: number;
  generation: number;
}

/** SQLite's failures as coded errors that name the file: a damaged store, a full disk, a read-only folder (io-errors.ts). */
const storeError = sqliteError;

/** Porter stemming over Unicode words, diacritics folded: the English BM25 setup of Lucene and Anserini. */
const FTS_TOKENIZER = 'porter unicode61 remove_diacritics 2';

/**
 * A query as an FTS5 expression: its words, each quoted (so no word is read as an operator), joined by OR. A
 * query with no word matches nothing.
 */
export function ftsQuery(query: string): string {
  const words = [...new Set(query.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])];
  return words.map((w) => `"${w}"`).join(' OR ');
}

/**
 * Passage ids, texts and metadata by row number, in SQLite, with an FTS5 keyword index over the texts.
 *
 * The manifest is the one commit point; SQLite is written just before it. Rows are numbered in the order they were
 * added and never renumbered in place (compact writes a new store). A delete tags the row with the generation that
 * deleted it. A reader asks through a StoreView: rows past the manifest's count and deletes of later generations
 * are invisible to it, so what a writer has put in SQLite but not yet committed never shows; the next writer
 * undoes it (rollback).
 */
export class DocStore {
  readonly file: string;
  private readonly db: Database.Database;
  /** Stores written before deletes existed have no `deleted` column: every row is live. */
  private readonly lifecycle: boolean;
  private readonly statements = new Map<string, Database.Statement>();
  /** Rows are windows of documents: an id has several live rows, told apart by their chunk number. */
  readonly chunked: boolean;

  /**
   * `readonly` opens read-only. `reader` opens to read without changing the schema: read-write where the file
   * allows, so that a write a killed writer left half-done in SQLite's journal can be rolled back (a read-only
   * connection refuses such a store), and read-only where it does not. Otherwise the store is opened to write:
   * created or brought to the current schema, in WAL mode unless `wal` is false.
   */
  constructor(file: string, options: { readonly?: boolean; reader?: boolean; wal?: boolean; chunked?: boolean } = {}) {
    this.file = file;
    const readonly = options.readonly === true;
    const reader = options.reader === true;
    let db: Database.Database | undefined;
    try {
      if (reader) {
        try {
          db = new Database(file, { fileMustExist: true });
        } catch (cause) {
          if (!/readonly|unable to open|permission/i.test((cause as Error).message ?? '')) throw cause;
          db = new Database(file, { readonly: true, fileMustExist: true });
        }
      } else {
        db = new Database(file, { readonly, fileMustExist: readonly });
      }
      if (!readonly && !reader) {
        if (options.wal !== false) db.pragma('journal_mode = WAL');
        db.pragma('synchronous = FULL');
        if (!hasTable(db, 'docs') && options.chunked === true) {
          db.exec('CREATE TABLE docs (idx INTEGER PRIMARY KEY, id TEXT NOT NULL, text TEXT NOT NULL, deleted INTEGER, chunk INTEGER NOT NULL, chunk_start INTEGER NOT NULL, chunk_end INTEGER NOT NULL)');
          db.exec(CHUNKED_INDEXES);
        } else if (!hasTable(db, 'docs')) {
          db.exec('CREATE TABLE docs (idx INTEGER PRIMARY KEY, id TEXT NOT NULL, text TEXT NOT NULL, deleted INTEGER)');
          db.exec(LIFECYCLE_INDEXES);
        } else if (!columnsOf(db).includes('deleted')) {
          migrate(db);
        }
        // The keyword index: FTS5 over the same rows (external content, so the text is stored once). A store from
        // before it existed gets it built from its rows the first time it is opened for writing.
        const hadFts = hasTable(db, 'docs_fts');
        db.exec(`CREATE VIRTUAL TABLE IF NOT EXISTS docs_fts USING fts5(text, content='docs', content_rowid='idx', tokenize='${FTS_TOKENIZER}')`);
        if (!hadFts) db.exec("INSERT INTO docs_fts(docs_fts) VALUES('rebuild')");
      }
      this.lifecycle = columnsOf(db).includes('deleted');
      this.chunked = columnsOf(db).includes('chunk');
    } catch (cause) {
      db?.close();
      throw storeError(file, 'open', cause);
    }
    this.db = db;
  }

  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (s === undefined) {
      if (this.statements.size >= 64) this.statements.clear();
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /** The rows a view sees, as SQL over the docs table (alias d), with its two parameters. */
  private visible(view: StoreView): { sql: string; params: number[] } {
    return this.lifecycle
      ? { sql: 'd.idx < ? AND (d.deleted IS NULL OR d.deleted > ?)', params: [view.count, view.generation] }
      : { sql: 'd.idx < ?', params: [view.count] };
  }

  /**
   * Every row 0 … count−1 is there exactly once (idx is the primary key, so count, min and max settle it): a
   * search must never meet a hole and answer with an empty id and text.
   */
  checkRows(count: number): void {
    let r: { n: number; lo: number | null; hi: number | null };
    try {
      r = this.db.prepare('SELECT COUNT(*) AS n, MIN(idx) AS lo, MAX(idx) AS hi FROM docs WHERE idx >= 0 AND idx < ?').get(count) as typeof r;
    } catch (cause) {
      throw storeError(this.file, 'read', cause);
    }
    if (r.n !== count || (count > 0 && (r.lo !== 0 || r.hi !== count - 1))) {
      throw new SemsearchError('INDEX_CORRUPT', `${this.file} holds ${r.n} of the ${count} passages the manifest lists (rows 0 to ${count - 1}): rebuild the index`, {
        file: this.file,
      });
    }
  }

  /** A complete index leaves WAL mode, so it can be read from a read-only folder (no -wal or -shm file needed). */
  finish(): void {
    try {
      this.db.pragma('journal_mode = DELETE');
    } catch (cause) {
      throw storeError(this.file, 'write', cause);
    }
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM docs').get() as { n: number }).n;
  }

  /** Forget rows from `count` on: what a crash left beyond the last committed shard. */
  truncate(count: number): number {
    return this.db.transaction(() => {
      // An external-content FTS5 table forgets a row only when told its old text.
      this.db.prepare("INSERT INTO docs_fts (docs_fts, rowid, text) SELECT 'delete', idx, text FROM docs WHERE idx >= ?").run(count);
      return this.db.prepare('DELETE FROM docs WHERE idx >= ?').run(count).changes;
    })();
  }

  /**
   * Undo what a writer put in SQLite without committing it in the manifest: rows from `view.count` on, and deletes
   * by generations after `view.generation`. Returns how many rows and deletes it undid.
   */
  rollback(view: StoreView): { rows: number; deletes: number } {
    try {
      return this.db.transaction(() => {
        const rows = this.truncate(view.count);
        const deletes = this.lifecycle ? this.db.prepare('UPDATE docs SET deleted = NULL WHERE deleted > ?').run(view.generation).changes : 0;
        return { rows, deletes };
      })();
    } catch (cause) {
      throw storeError(this.file, 'write', cause);
    }
  }

  /** Whether the store has its keyword index (stores written before semsearch added it do not, until rewritten). */
  get hasKeywordIndex(): boolean {
    this.fts ??= hasTable(this.db, 'docs_fts');
    return this.fts;
  }
  private fts: boolean | undefined;

  /**
   * The k best rows for a query by BM25 over the passages (FTS5, porter stemming) among the rows a view sees and a
   * filter allows: any of the query's words may match, as a search box does. Scores are BM25 values, higher is
   * better; equal scores keep the lower row. Deleted rows still count in BM25's document statistics until compact,
   * as in Lucene.
   */
  keywordSearch(query: string, k: number, view: StoreView, filter?: CompiledFilter): { index: number; score: number }[] {
    if (!this.hasKeywordIndex) {
      throw new SemsearchError('INDEX_MISMATCH', `${this.file} has no keyword index (the index predates it): run semsearch index on the index again to add it`, {
        file: this.file,
        field: 'mode',
      });
    }
    const match = ftsQuery(query);
    if (match === '') return [];
    const vis = this.visible(view);
    // bm25() is smaller for better matches; its k1 = 1.2 and b = 0.75 are fixed in SQLite.
    const sql =
      'SELECT f.rowid AS "index", -bm25(docs_fts) AS score FROM docs_fts f JOIN docs d ON d.idx = f.rowid ' +
      `WHERE docs_fts MATCH ? AND ${vis.sql}${filter !== undefined ? ` AND (${filter.sql})` : ''} ORDER BY bm25(docs_fts), f.rowid LIMIT ?`;
    try {
      return this.stmt(sql).all(match, ...vis.params, ...(filter?.params ?? []), k) as { index: number; score: number }[];
    } catch (cause) {
      throw storeError(this.file, 'read', cause);
    }
  }

  /** Rows a view sees that a filter allows, ascending. */
  filterRows(view: StoreView, filter: CompiledFilter): number[] {
    const vis = this.visible(view);
    try {
      return this.stmt(`SELECT d.idx FROM docs d WHERE ${vis.sql} AND (${filter.sql}) ORDER BY d.idx`)
        .pluck()
        .all(...vis.params, ...filter.params) as number[];
    } catch (cause) {
      throw storeError(this.file, 'read', cause);
    }
  }

  /** Rows below the view's count that it sees as deleted, ascending. */
  deletedRows(view: StoreView): number[] {
    if (!this.lifecycle) return [];
    try {
      return this.stmt('SELECT idx FROM docs WHERE deleted IS NOT NULL AND deleted <= ? AND idx < ? ORDER BY idx').pluck().all(view.generation, view.count) as number[];
    } catch (cause) {
      throw storeError(this.file, 'read', cause);
    }
  }

  /** Whether a live row has this id (a writer's question, after rollback: live means not deleted). */
  has(id: string): boolean {
    return this.liveRow(id) !== undefined;
  }

  /** The row of the live document with this id. */
  liveRow(id: string): number | undefined {
    try {
      return this.stmt(this.lifecycle ? 'SELECT idx FROM docs WHERE id = ? AND deleted IS NULL' : 'SELECT idx FROM docs WHERE id = ?').pluck().get(id) as number | undefined;
    } catch (cause) {
      throw storeError(this.file, 'read', cause);
    }
  }

  /** The live rows of a document, in row order (a chunked index has one per window; others at most one). */
  liveRows(id: string): number[] {
    try {
      return this.stmt(this.lifecycle ? 'SELECT idx FROM docs WHERE id = ? AND deleted IS NULL ORDER BY idx' : 'SELECT idx FROM docs WHERE id = ? ORDER BY idx').pluck().all(id) as number[];
    } catch (cause) {
      throw storeError(this.file, 'read', cause);
    }
  }

  /** The document id of a row (grouping a chunked index's windows into documents). */
  idOf(index: number): string | undefined {
    try {
      return this.stmt('SELECT id FROM docs WHERE idx = ?').pluck().get(index) as string | undefined;
    } catch (cause) {
      throw storeError(this.file, 'read', cause);
    }
  }

  /** How many rows of a document a view sees (its windows). */
  visibleRowCount(id: string, view: StoreView): number {
    const vis = this.visible(view);
    try {
      return this.stmt(`SELECT count(*) FROM docs d WHERE d.id = ? AND ${vis.sql}`).pluck().get(id, ...vis.params) as number;
    } catch (cause) {
      throw storeError(this.file, 'read', cause);
    }
  }

  /** Distinct document ids a view sees (a check of a chunked manifest's document count). */
  visibleDocumentCount(view: StoreView): number {
    const vis = this.visible(view);
    try {
      return this.stmt(`SELECT count(DISTINCT d.id) FROM docs d WHERE ${vis.sql}`).pluck().get(...vis.params) as number;
    } catch (cause) {
      throw storeError(this.file, 'read', cause);
    }
  }

  /** Give the store a column for each new metadata field (a writer's step, inside its transaction). */
  private addColumns(fields: Readonly<Record<string, FieldType>>): void {
    const have = new Set(columnsOf(this.db));
    for (const name of Object.keys(fields)) {
      const col = `f:${name}`;
      // No declared type: SQLite keeps each value as bound, and semsearch checks types itself.
      if (!have.has(col)) this.db.exec(`ALTER TABLE docs ADD COLUMN ${fieldColumn(name)}`);
    }
  }

  private insertRows(start: number, docs: readonly DocRow[], fields: Readonly<Record<string, FieldType>>): void {
    const names = Object.keys(fields);
    const cols = ['idx', 'id', 'text', ...(this.chunked ? ['chunk', 'chunk_start', 'chunk_end'] : []), ...names.map(fieldColumn)];
    const insert = this.stmt(`INSERT INTO docs (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
    const fts = this.stmt('INSERT INTO docs_fts (rowid, text) VALUES (?, ?)');
    docs.forEach((d, i) => {
      const meta = names.map((n) => {
        const v = d.metadata?.[n];
        return v === undefined || v === null ? null : sqlValue(v);
      });
      if (this.chunked) {
        const c = d.chunk ?? { number: 0, start: 0, end: d.text.length };
        insert.run(start + i, d.id, d.text, c.number, c.start, c.end, ...meta);
      } else insert.run(start + i, d.id, d.text, ...meta);
      fts.run(start + i, d.text);
    });
  }

  /** Insert one shard's passages atomically, numbered from `start` (the build's step). */
  insertShard(start: number, docs: readonly DocRow[], fields: Readonly<Record<string, FieldType>> = {}): void {
    try {
      this.db.transaction(() => {
        this.addColumns(fields);
        this.insertRows(start, docs, fields);
      })();
    } catch (cause) {
      throw storeError(this.file, 'write', cause);
    }
  }

  /**
   * One write of an update, in one transaction: rows `deleted` are tagged with `generation`, `docs` are added from
   * row `start`. The manifest commits it afterwards; until then readers do not see it.
   */
  applyWrite(generation: number, deleted: readonly number[], start: number, docs: readonly DocRow[], fields: Readonly<Record<string, FieldType>>): void {
    if (!this.lifecycle) throw new SemsearchError('INDEX_CORRUPT', `${this.file} cannot record deletes`, { file: this.file });
    try {
      this.db.transaction(() => {
        this.addColumns(fields);
        const del = this.stmt('UPDATE docs SET deleted = ? WHERE idx = ? AND deleted IS NULL');
        for (const row of deleted) {
          if (del.run(generation, row).changes !== 1) throw new SemsearchError('INDEX_CORRUPT', `${this.file}: row ${row} is not live`, { file: this.file });
        }
        this.insertRows(start, docs, fields);
      })();
    } catch (cause) {
      throw storeError(this.file, 'write', cause);
    }
  }

  /** The live rows from row `from` on, in row order, with their metadata: what compact copies into a new store, and push sends. */
  *liveDocs(view: StoreView, fields: Readonly<Record<string, FieldType>>, from = 0): Generator<StoredDoc> {
    const vis = this.visible(view);
    const it = this.db.prepare(`SELECT * FROM docs d WHERE ${vis.sql} AND d.idx >= ? ORDER BY d.idx`).iterate(...vis.params, from) as IterableIterator<Record<string, unknown>>;
    for (const r of it) yield toDoc(r, fields);
  }

  /** How many live rows a view sees from row `from` on. */
  liveCountFrom(view: StoreView, from: number): number {
    const vis = this.visible(view);
    try {
      return this.stmt(`SELECT count(*) FROM docs d WHERE ${vis.sql} AND d.idx >= ?`).pluck().get(...vis.params, from) as number;
    } catch (cause) {
      throw storeError(this.file, 'read', cause);
    }
  }

  /**
   * Ids a copy of the rows below `below` taken at generation `since` holds and the view does not (their rows deleted
   * after `since`, and no live row holding the id again): what that copy must delete to match the view.
   */
  deletedIdsSince(since: number, below: number, view: StoreView): string[] {
    if (!this.lifecycle) return [];
    const vis = this.visible(view);
    try {
      return this.stmt(
        `SELECT DISTINCT o.id FROM docs o WHERE o.deleted > ? AND o.deleted <= ? AND o.idx < ? AND NOT EXISTS (SELECT 1 FROM docs d WHERE d.id = o.id AND ${vis.sql}) ORDER BY o.id`,
      )
        .pluck()
        .all(since, view.generation, Math.min(below, view.count), ...vis.params) as string[];
    } catch (cause) {
      throw storeError(this.file, 'read', cause);
    }
  }

  /**
   * deletedIdsSince for a chunked store: the windows (id and window number) such a copy holds and the view does not.
   * A replaced document's windows that the view holds again under the same number are not among them: the copy
   * gets those rows anew, and deleting them afterwards would delete the new window.
   */
  deletedWindowsSince(since: number, below: number, view: StoreView): { id: string; number: number }[] {
    if (!this.lifecycle || !this.chunked) return [];
    const vis = this.visible(view);
    try {
      return (
        this.stmt(
          `SELECT DISTINCT o.id AS id, o.chunk AS number FROM docs o WHERE o.deleted > ? AND o.deleted <= ? AND o.idx < ? AND NOT EXISTS (SELECT 1 FROM docs d WHERE d.id = o.id AND d.chunk = o.chunk AND ${vis.sql}) ORDER BY o.id, o.chunk`,
        ).all(since, view.generation, Math.min(below, view.count), ...vis.params) as { id: string; number: number }[]
      ).map((r) => ({ id: r.id, number: r.number }));
    } catch (cause) {
      throw storeError(this.file, 'read', cause);
    }
  }

  /** The row of a document's window as a view sees it (chunked stores). */
  visibleWindow(id: string, number: number, view: StoreView): number | undefined {
    const vis = this.visible(view);
    try {
      return this.stmt(`SELECT d.idx FROM docs d WHERE d.id = ? AND d.chunk = ? AND ${vis.sql}`).pluck().get(id, number, ...vis.params) as number | undefined;
    } catch (cause) {
      throw storeError(this.file, 'read', cause);
    }
  }

  /** The live row of an id as a view sees it (a reader's question; liveRow is the writer's). */
  visibleRow(id: string, view: StoreView): number | undefined {
    const vis = this.visible(view);
    try {
      return this.stmt(`SELECT d.idx FROM docs d WHERE d.id = ? AND ${vis.sql}`).pluck().get(id, ...vis.params) as number | undefined;
    } catch (cause) {
      throw storeError(this.file, 'read', cause);
    }
  }

  get(index: number, fields: Readonly<Record<string, FieldType>> = {}): StoredDoc | undefined {
    try {
      const r = this.stmt('SELECT * FROM docs WHERE idx = ?').get(index) as Record<string, unknown> | undefined;
      return r === undefined ? undefined : toDoc(r, fields);
    } catch (cause) {
      throw storeError(this.file, 'read', cause);
    }
  }

  close(): void {
    this.db.close();
  }
}

/** A chunked store: an id is live in several rows, one per window. */
const CHUNKED_INDEXES =
  'CREATE UNIQUE INDEX IF NOT EXISTS docs_live_id ON docs(id, chunk) WHERE deleted IS NULL; CREATE INDEX IF NOT EXISTS docs_deleted ON docs(deleted) WHERE deleted IS NOT NULL;';

const LIFECYCLE_INDEXES =
  'CREATE UNIQUE INDEX IF NOT EXISTS docs_live_id ON docs(id) WHERE deleted IS NULL; CREATE INDEX IF NOT EXISTS docs_deleted ON docs(deleted) WHERE deleted IS NOT NULL;';

function hasTable(db: Database.Database, name: string): boolean {
  return db.prepare('SELECT 1 FROM sqlite_master WHERE name = ?').get(name) !== undefined;
}

function columnsOf(db: Database.Database): string[] {
  return (db.prepare('PRAGMA table_info(docs)').all() as { name: string }[]).map((c) => c.name);
}

/**
 * A store from before deletes: its ids were UNIQUE over every row, which a replaced document (old row deleted, new
 * row with the same id) would break. Copy it into the current table in one transaction; rows keep their numbers.
 */
function migrate(db: Database.Database): void {
  db.transaction(() => {
    db.exec('CREATE TABLE docs_next (idx INTEGER PRIMARY KEY, id TEXT NOT NULL, text TEXT NOT NULL, deleted INTEGER)');
    db.exec('INSERT INTO docs_next (idx, id, text) SELECT idx, id, text FROM docs');
    db.exec('DROP TABLE docs');
    db.exec('ALTER TABLE docs_next RENAME TO docs');
    db.exec(LIFECYCLE_INDEXES);
  })();
}

function toDoc(r: Record<string, unknown>, fields: Readonly<Record<string, FieldType>>): StoredDoc {
  const doc: StoredDoc = { index: r.idx as number, id: r.id as string, text: r.text as string };
  if (typeof r.chunk === 'number') doc.chunk = { number: r.chunk, start: r.chunk_start as number, end: r.chunk_end as number };
  let meta: Metadata | undefined;
  for (const [name, type] of Object.entries(fields)) {
    const v = r[`f:${name}`];
    if (v === undefined || v === null) continue;
    meta ??= {};
    meta[name] = type === 'boolean' ? v === 1 : (v as string | number);
  }
  if (meta !== undefined) doc.metadata = meta;
  return doc;
}
