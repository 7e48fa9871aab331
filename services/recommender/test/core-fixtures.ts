// Shared fixtures of the core tests (encoder, index, recommender, CLI, parity): the tiny bundle that
// `make tiny-bundle` builds (make test-node runs it first), and helpers around it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../src/defaults.js';

export const TINY_BUNDLE = process.env.TINY_BUNDLE_PATH ?? path.join(REPO_ROOT, 'artifacts', 'tiny-bundle');

/** The tiny bundle's folder; fails (never skips) with the command to build it when absent. */
export function tinyBundle(): string {
  if (!fs.existsSync(path.join(TINY_BUNDLE, 'manifest.json'))) {
    throw new Error(`${TINY_BUNDLE} is missing: run \`make tiny-bundle\` (make test-node does it first)`);
  }
  return TINY_BUNDLE;
}

/** A writable copy of a bundle folder, to corrupt in tests. */
export function copyBundle(src: string): string {
  const dst = fs.mkdtempSync(path.join(os.tmpdir(), 'bundle-copy-'));
  for (const f of fs.readdirSync(src)) fs.copyFileSync(path.join(src, f), path.join(dst, f));
  return dst;
}

export function tmpDir(prefix = 'core-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface CapturedLog {
  level: 'info' | 'warn' | 'error';
  obj: object | string;
  msg?: string;
}
export function captureLogger(): { logger: { info: (o: object | string, m?: string) => void; warn: (o: object | string, m?: string) => void; error: (o: object | string, m?: string) => void }; lines: CapturedLog[] } {
  const lines: CapturedLog[] = [];
  const at = (level: CapturedLog['level']) => (obj: object | string, msg?: string) => void lines.push({ level, obj, msg });
  return { logger: { info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return d / Math.sqrt(na * nb);
}

export const DATA_DIR = path.join(REPO_ROOT, 'data');

/** A generated LECR dataset folder (make datasets); fails (never skips) with the command when absent. */
export function dataset(name: string): string {
  const dir = path.join(DATA_DIR, name);
  for (const f of ['topics.csv', 'content.csv', 'correlations.csv']) {
    if (!fs.existsSync(path.join(dir, f))) throw new Error(`${path.join(dir, f)} is missing: run \`make datasets\``);
  }
  return dir;
}
