import Database from 'better-sqlite3';
import { SemsearchError } from '../errors.js';

export interface StoredDoc {
  index: number;
  id: string;
  text: string;
}

/**
 * Passage ids and texts by row number, in SQLite. Rows are added one shard per transaction, the same unit the
 * manifest commits, so a crash between the two is undone on resume by dropping rows past the manifest's count.
 */
export class DocStore {
  readonly file: string;
  private readonly db: Database.Database;
  private readonly insertStmt: Database.Statement<[number, string, string]>;
  private readonly byIdx: Database.Statement<[number]>;
  private readonly byId: Database.Statement<[string]>;

  constructor(file: string, options: { readonly?: boolean } = {}) {
    this.file = file;
    try {
      this.db = new Database(file, { readonly: options.readonly === true, fileMustExist: options.readonly === true });
    } catch (cause) {
      throw new SemsearchError('INDEX_CORRUPT', `cannot open the document store ${file}: ${(cause as Error).message}`, { file, cause });
    }
    if (options.readonly !== true) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.exec('CREATE TABLE IF NOT EXISTS docs (idx INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, text TEXT NOT NULL)');
    }
    this.insertStmt = options.readonly === true ? (null as never) : this.db.prepare('INSERT INTO docs (idx, id, text) VALUES (?, ?, ?)');
    this.byIdx = this.db.prepare('SELECT idx AS "index", id, text FROM docs WHERE idx = ?');
    this.byId = this.db.prepare('SELECT idx FROM docs WHERE id = ?');
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM docs').get() as { n: number }).n;
  }

  /** Forget rows from `count` on: what a crash left beyond the last committed shard. */
  truncate(count: number): number {
    return this.db.prepare('DELETE FROM docs WHERE idx >= ?').run(count).changes;
  }

  has(id: string): boolean {
    return this.byId.get(id) !== undefined;
  }

  /** Insert one shard's passages atomically, numbered from `start`. */
  insertShard(start: number, docs: readonly { id: string; text: string }[]): void {
    this.db.transaction(() => {
      docs.forEach((d, i) => this.insertStmt.run(start + i, d.id, d.text));
    })();
  }

  get(index: number): StoredDoc | undefined {
    return this.byIdx.get(index) as StoredDoc | undefined;
  }

  close(): void {
    this.db.close();
  }
}
