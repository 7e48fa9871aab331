export * from './types.js';
export { ContentIndex, writeAction, type IndexEntry, type WriteAction } from './content-index.js';
export { LanguagePartition } from './partition.js';
export { readSnapshot, writeSnapshot, currentSnapshotDir, snapshotIdentities, SNAPSHOT_FORMAT } from './snapshot.js';
