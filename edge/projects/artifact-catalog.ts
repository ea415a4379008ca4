/**
 * A project's extensions and contexts, as its ProjectObject keeps them in SQLite: metadata and
 * the key of each one's blob in R2 (the blobs themselves are in R2). Which session may save a
 * context is context-writers.ts'.
 */

export interface ExtensionRow {
  id: string;
  fileName: string;
  bytes: number;
  blob: string;
  createdAt: number;
  updatedAt: number;
}

export interface ContextRow {
  id: string;
  name?: string;
  createdAt: number;
  updatedAt: number;
  /** The saved profile's blob; absent until a session saved one (or a client uploaded one). */
  profile?: string;
  profileBytes?: number;
}

export const CATALOG_SCHEMA = `
  CREATE TABLE IF NOT EXISTS extensions (
    id TEXT PRIMARY KEY, file_name TEXT NOT NULL, bytes INTEGER NOT NULL, blob TEXT NOT NULL,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS contexts (
    id TEXT PRIMARY KEY, name TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    profile TEXT, profile_bytes INTEGER);`;

type Row = Record<string, SqlStorageValue>;

const extensionRow = (r: Row): ExtensionRow => ({
  id: r.id as string,
  fileName: r.file_name as string,
  bytes: r.bytes as number,
  blob: r.blob as string,
  createdAt: r.created_at as number,
  updatedAt: r.updated_at as number,
});

function contextRow(r: Row): ContextRow {
  const row: ContextRow = { id: r.id as string, createdAt: r.created_at as number, updatedAt: r.updated_at as number };
  if (r.name !== null) row.name = r.name as string;
  if (r.profile !== null) {
    row.profile = r.profile as string;
    row.profileBytes = r.profile_bytes as number;
  }
  return row;
}

export class ArtifactCatalog {
  constructor(private readonly sql: SqlStorage) {}

  extension(id: string): ExtensionRow | undefined {
    const row = this.sql.exec("SELECT * FROM extensions WHERE id = ?", id).toArray()[0];
    return row && extensionRow(row);
  }

  addExtension(e: ExtensionRow) {
    this.sql.exec("INSERT INTO extensions VALUES (?, ?, ?, ?, ?, ?)", e.id, e.fileName, e.bytes, e.blob, e.createdAt, e.updatedAt);
  }

  removeExtension(id: string) {
    this.sql.exec("DELETE FROM extensions WHERE id = ?", id);
  }

  context(id: string): ContextRow | undefined {
    const row = this.sql.exec("SELECT * FROM contexts WHERE id = ?", id).toArray()[0];
    return row && contextRow(row);
  }

  /** Names are unique per project, compared case-insensitively (as Browserbase does). */
  contextNamed(name: string): ContextRow | undefined {
    const row = this.sql.exec("SELECT * FROM contexts WHERE lower(name) = lower(?)", name).toArray()[0];
    return row && contextRow(row);
  }

  addContext(c: ContextRow) {
    this.sql.exec("INSERT INTO contexts (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)", c.id, c.name ?? null, c.createdAt, c.updatedAt);
  }

  touchContext(id: string, now: number) {
    this.sql.exec("UPDATE contexts SET updated_at = ? WHERE id = ?", now, id);
  }

  setProfile(id: string, blob: string, bytes: number, now: number) {
    this.sql.exec("UPDATE contexts SET profile = ?, profile_bytes = ?, updated_at = ? WHERE id = ?", blob, bytes, now, id);
  }

  removeContext(id: string) {
    this.sql.exec("DELETE FROM contexts WHERE id = ?", id);
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The Browserbase Extension. */
export const toApiExtension = (row: ExtensionRow, projectId: string) => ({
  id: row.id,
  createdAt: iso(row.createdAt),
  updatedAt: iso(row.updatedAt),
  fileName: row.fileName,
  projectId,
});

/** The Browserbase Context (`name` only when it has one). */
export function toApiContext(row: ContextRow, projectId: string) {
  const context: { id: string; createdAt: string; updatedAt: string; projectId: string; name?: string } = {
    id: row.id,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
    projectId,
  };
  if (row.name !== undefined) context.name = row.name;
  return context;
}
