import Database from 'better-sqlite3';
import { SemsearchError } from '../errors.js';

export interface StoredDoc {
  index: number;
  id: string;
  text: string;
}

/** SQLite's failures as coded errors that name the file: a damaged store, a full disk, a read-only folder. */
function storeError(file: string, doing: 'open' | 'read' | 'write', cause: unknown): SemsearchError {
  const code = (cause as { code?: string }).code ?? '';
  const msg = (cause as Error).message ?? String(cause);
  if (code === 'SQLITE_FULL' || code === 'SQLITE_IOERR_WRITE' || /disk is full/.test(msg)) {
    return new SemsearchError('FILE_WRITE_FAILED', `cannot write the document store ${file}: the disk is full (${msg}); free space and run the command again`, { file, cause });
  }
  if (code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY' || /readonly|unable to open/.test(msg)) {
    return new SemsearchError(
      'INDEX_READ_ONLY',
      `cannot ${doing} the document store ${file} (${msg}): its folder is read-only or missing, and ${doing === 'open' ? 'a store still in WAL mode (an unfinished build, or one built by an earlier semsearch) needs' : 'this needs'} write access; finish or copy the index on a writable disk`,
      { file, cause },
    );
  }
  return new SemsearchError('INDEX_CORRUPT', `the document store ${file} is damaged (${msg}): rebuild the index`, { file, cause });
}

/** Porter stemming over Unicode words, diacritics folded: the English BM25 setup of Lucene and Anserini. */
const FTS_TOKENIZER = 'porter unicode61 remove_diacritics 2';

function hasFts(db: Database.Database): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'docs_fts'").get() !== undefined;
}

/**
 * A query as an FTS5 expression: its words, each quoted (so no word is read as an operator), joined by OR. A
 * query with no word matches nothing.
 */
export function ftsQuery(query: string): string {
  const words = [...new Set(query.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])];
  return words.map((w) => `"${w}"`).join(' OR ');
}

/**
 * Passage ids and texts by row number, in SQLite. Rows are added one shard per transaction, the same unit the
 * manifest commits, so a crash between the two is undone on resume by dropping rows past the manifest's count.
 */
export class DocStore {
  readonly file: string;
  private readonly db: Database.Database;
  private readonly insertStmt: Database.Statement<[number, string, string]>;
  private readonly insertFts: Database.Statement<[number, string]>;
  private readonly keywordStmt: Database.Statement<[string, number]> | undefined;
  private readonly byIdx: Database.Statement<[number]>;
  private readonly byId: Database.Statement<[string]>;

  constructor(file: string, options: { readonly?: boolean } = {}) {
    this.file = file;
    const readonly = options.readonly === true;
    let db: Database.Database | undefined;
    try {
      db = new Database(file, { readonly, fileMustExist: readonly });
      if (!readonly) {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = FULL');
        db.exec('CREATE TABLE IF NOT EXISTS docs (idx INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, text TEXT NOT NULL)');
        // The keyword index: FTS5 over the same rows (external content, so the text is stored once). A store from
        // before it existed gets it built from its rows the first time it is opened for writing.
        const had = hasFts(db);
        db.exec(`CREATE VIRTUAL TABLE IF NOT EXISTS docs_fts USING fts5(text, content='docs', content_rowid='idx', tokenize='${FTS_TOKENIZER}')`);
        if (!had) db.exec("INSERT INTO docs_fts(docs_fts) VALUES('rebuild')");
      }
      this.insertStmt = readonly ? (null as never) : db.prepare('INSERT INTO docs (idx, id, text) VALUES (?, ?, ?)');
      this.insertFts = readonly ? (null as never) : db.prepare('INSERT INTO docs_fts (rowid, text) VALUES (?, ?)');
      // bm25() is smaller for better matches; its k1 = 1.2 and b = 0.75 are fixed in SQLite.
      this.keywordStmt = hasFts(db)
        ? db.prepare('SELECT rowid AS "index", -bm25(docs_fts) AS score FROM docs_fts WHERE docs_fts MATCH ? ORDER BY bm25(docs_fts), rowid LIMIT ?')
        : undefined;
      this.byIdx = db.prepare('SELECT idx AS "index", id, text FROM docs WHERE idx = ?');
      this.byId = db.prepare('SELECT idx FROM docs WHERE id = ?');
    } catch (cause) {
      db?.close();
      throw storeError(file, 'open', cause);
    }
    this.db = db;
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

  /** Whether the store has its keyword index (stores written before semsearch added it do not, until rewritten). */
  get hasKeywordIndex(): boolean {
    return this.keywordStmt !== undefined;
  }

  /**
   * The k best rows for a query by BM25 over the passages (FTS5, porter stemming): any of the query's words may
   * match, as a search box does. Scores are BM25 values, higher is better; equal scores keep the lower row.
   */
  keywordSearch(query: string, k: number): { index: number; score: number }[] {
    if (this.keywordStmt === undefined) {
      throw new SemsearchError('INDEX_MISMATCH', `${this.file} has no keyword index (the index predates it): run semsearch index on the index again to add it`, {
        file: this.file,
        field: 'mode',
      });
    }
    const match = ftsQuery(query);
    if (match === '') return [];
    try {
      return this.keywordStmt.all(match, k) as { index: number; score: number }[];
    } catch (cause) {
      throw storeError(this.file, 'read', cause);
    }
  }

  has(id: string): boolean {
    return this.byId.get(id) !== undefined;
  }

  /** Insert one shard's passages atomically, numbered from `start`. */
  insertShard(start: number, docs: readonly { id: string; text: string }[]): void {
    try {
      this.db.transaction(() => {
        docs.forEach((d, i) => {
          this.insertStmt.run(start + i, d.id, d.text);
          this.insertFts.run(start + i, d.text);
        });
      })();
    } catch (cause) {
      throw storeError(this.file, 'write', cause);
    }
  }

  get(index: number): StoredDoc | undefined {
    try {
      return this.byIdx.get(index) as StoredDoc | undefined;
    } catch (cause) {
      throw storeError(this.file, 'read', cause);
    }
  }

  close(): void {
    this.db.close();
  }
}
