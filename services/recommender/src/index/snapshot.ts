// Index snapshots on disk (Contract 5), written atomically:
//
//   <indexPath>/CURRENT                 name of the live snapshot folder (replaced by rename)
//   <indexPath>/snapshot-000007/        snapshot.json, per language: items (JSON), vectors (raw
//                                       float32, one file per space) and, for HNSW, the graph files
//
// A writer fills a hidden temp folder, fsyncs every file and the folder, renames it to its final
// name (a fresh name, so the rename is atomic), then swaps CURRENT by writing CURRENT.tmp, fsyncing
// and renaming it over CURRENT. A crash at any point leaves CURRENT naming a complete snapshot (or
// none on the very first write); leftovers are removed by the next writer. Readers never see a
// half-written folder. Folders are versioned because POSIX cannot rename a folder over a non-empty one.
import fs from 'node:fs';
import path from 'node:path';
import { ArtifactError } from '../errors.js';
import { ContentIndex } from './content-index.js';
import { LanguagePartition } from './partition.js';
import { describeIdentity, sameIdentity, type IndexOptions, type ItemMeta, type SpaceIdentity } from './types.js';

export const SNAPSHOT_FORMAT = 'curriculum-content-index-v1';
const CURRENT = 'CURRENT';

interface SnapshotManifest {
  format: string;
  snapshotVersion: number;
  created: string;
  identities: SpaceIdentity[];
  languages: { language: string; prefix: string; rows: number; live: number; kind: 'exact' | 'hnsw' }[];
}

function writeFileSynced(file: string, data: string | Uint8Array): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeFileSync(fd, data); // loops until every byte is written
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function fsyncPath(p: string): void {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function snapshotName(version: number): string {
  return `snapshot-${String(version).padStart(6, '0')}`;
}

/** The live snapshot folder of an index path, or null when there is none yet. */
export function currentSnapshotDir(indexPath: string): string | null {
  const current = path.join(indexPath, CURRENT);
  if (!fs.existsSync(current)) return null;
  const name = fs.readFileSync(current, 'utf8').trim();
  const dir = path.join(indexPath, name);
  if (!/^snapshot-\d+$/.test(name) || !fs.existsSync(path.join(dir, 'snapshot.json'))) {
    throw new ArtifactError(`${current}: names "${name}", which is not a complete snapshot folder`);
  }
  return dir;
}

export interface WriteSnapshotHooks {
  /** Called after the temp folder is complete and synced, before it becomes visible (tests inject crashes here). */
  beforeCommit?: (tempDir: string) => void;
}

/** Writes the index as a new snapshot and makes it current; returns the snapshot version written. */
export function writeSnapshot(index: ContentIndex, indexPath: string, hooks: WriteSnapshotHooks = {}): number {
  fs.mkdirSync(indexPath, { recursive: true });
  const existing = currentSnapshotDir(indexPath);
  const previous = existing ? readManifest(existing).snapshotVersion : 0;
  const version = Math.max(previous, index.snapshotVersion) + 1;
  const name = snapshotName(version);
  const temp = path.join(indexPath, `.tmp-${name}-${process.pid}`);
  fs.rmSync(temp, { recursive: true, force: true });
  fs.mkdirSync(temp);
  try {
    const manifest: SnapshotManifest = {
      format: SNAPSHOT_FORMAT,
      snapshotVersion: version,
      created: new Date().toISOString(),
      identities: [...index.identities],
      languages: [],
    };
    [...index.partitions.values()].forEach((p, i) => {
      const prefix = `lang-${String(i).padStart(4, '0')}`; // language codes are not trusted as file names
      writeFileSynced(path.join(temp, `${prefix}.items.json`), JSON.stringify(p.rows));
      p.spaces.forEach((sp, s) => {
        const bytes = new Uint8Array(sp.data.buffer, sp.data.byteOffset, p.rows.length * sp.dim * 4);
        writeFileSynced(path.join(temp, `${prefix}.space${s}.f32`), bytes);
        if (sp.hnsw) {
          const graph = path.join(temp, `${prefix}.space${s}.hnsw`);
          sp.hnsw.writeIndexSync(graph);
          fsyncPath(graph);
        }
      });
      manifest.languages.push({ language: p.language, prefix, rows: p.rows.length, live: p.live, kind: p.kind });
    });
    writeFileSynced(path.join(temp, 'snapshot.json'), JSON.stringify(manifest, null, 2));
    fsyncPath(temp);
    hooks.beforeCommit?.(temp);
    const finalDir = path.join(indexPath, name);
    fs.rmSync(finalDir, { recursive: true, force: true }); // a stale folder from a crashed writer, never CURRENT
    fs.renameSync(temp, finalDir);
    const currentTmp = path.join(indexPath, `${CURRENT}.tmp`);
    writeFileSynced(currentTmp, `${name}\n`);
    fs.renameSync(currentTmp, path.join(indexPath, CURRENT));
    fsyncPath(indexPath);
  } catch (err) {
    fs.rmSync(temp, { recursive: true, force: true });
    throw err;
  }
  // Older snapshots and leftovers of crashed writers are garbage now.
  for (const entry of fs.readdirSync(indexPath)) {
    if (entry !== name && (/^snapshot-\d+$/.test(entry) || entry.startsWith('.tmp-snapshot-'))) {
      fs.rmSync(path.join(indexPath, entry), { recursive: true, force: true });
    }
  }
  index.snapshotVersion = version;
  return version;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ArtifactError(`${file}: unreadable index snapshot file (${(err as Error).message})`);
  }
}

function readManifest(dir: string): SnapshotManifest {
  const file = path.join(dir, 'snapshot.json');
  let m: SnapshotManifest;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ArtifactError(`${file}: unreadable index snapshot manifest (${(err as Error).message})`);
  }
  if (m.format !== SNAPSHOT_FORMAT) throw new ArtifactError(`${file}: format "${m.format}", expected "${SNAPSHOT_FORMAT}"`);
  return m;
}

/** The identities a snapshot was built with (for `bundle info`-style reporting), or null if none exists. */
export function snapshotIdentities(indexPath: string): SpaceIdentity[] | null {
  const dir = currentSnapshotDir(indexPath);
  return dir ? readManifest(dir).identities : null;
}

/**
 * Loads the current snapshot of `indexPath` into a new index for the given bundles; an empty index
 * when there is no snapshot yet. A snapshot built with other encoders is refused: its vectors live in
 * another space, so searching it would return nonsense.
 */
export function readSnapshot(indexPath: string, identities: readonly SpaceIdentity[], options: Partial<IndexOptions> = {}): ContentIndex {
  const index = new ContentIndex(identities, options);
  const dir = fs.existsSync(indexPath) ? currentSnapshotDir(indexPath) : null;
  if (!dir) return index;
  const m = readManifest(dir);
  const mismatch =
    m.identities.length !== identities.length || m.identities.some((s, i) => !sameIdentity(s, identities[i]));
  if (mismatch) {
    throw new ArtifactError(
      `index snapshot ${dir} was built with ${m.identities.map(describeIdentity).join(' + ')}, ` +
        `but the configured bundle is ${identities.map(describeIdentity).join(' + ')}; ` +
        `rebuild the index with this bundle (cli index build) or point INDEX_PATH elsewhere`,
    );
  }
  for (const lang of m.languages) {
    const p = new LanguagePartition(lang.language, index.dims, index.options);
    const itemsFile = path.join(dir, `${lang.prefix}.items.json`);
    p.rows = readJson(itemsFile) as (ItemMeta | null)[];
    if (p.rows.length !== lang.rows) throw new ArtifactError(`${itemsFile}: ${p.rows.length} rows, snapshot.json says ${lang.rows}`);
    p.rows.forEach((meta, r) => meta && p.idToRow.set(meta.id, r));
    p.spaces.forEach((sp, s) => {
      const file = path.join(dir, `${lang.prefix}.space${s}.f32`);
      if (!fs.existsSync(file)) throw new ArtifactError(`${file}: missing from the snapshot`);
      const buf = fs.readFileSync(file);
      if (buf.length !== lang.rows * sp.dim * 4) {
        throw new ArtifactError(`${file}: ${buf.length} bytes, expected ${lang.rows} rows × ${sp.dim} dims × 4`);
      }
      sp.ensureRows(lang.rows);
      sp.data.set(new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length)));
      if (lang.kind === 'hnsw') {
        const graph = path.join(dir, `${lang.prefix}.space${s}.hnsw`);
        try {
          p.attachGraph(s, graph);
        } catch (err) {
          throw new ArtifactError(`${graph}: unreadable HNSW graph (${(err as Error).message})`);
        }
      }
    });
    index.restorePartition(p);
  }
  index.snapshotVersion = m.snapshotVersion;
  return index;
}
