// Loading and verifying an artifact bundle (Contract 3): manifest fields, text_format against
// config/defaults.json, and the sha256 of every file the manifest lists. The ONNX output dimension
// is checked against `dim` when the encoder opens the model (src/encoder/).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULTS } from '../defaults.js';
import { ArtifactError } from '../errors.js';
import type { SpaceIdentity } from '../index/types.js';
import { parseManifest, type BundleManifest, type VariantInfo } from './manifest.js';

export interface Bundle {
  dir: string;
  manifest: BundleManifest;
  variant: string;
  variantInfo: VariantInfo;
  modelPath: string;
  tokenizerPath: string;
  goldenPath: string;
  /** What an index snapshot built with this bundle records (and is checked against). */
  identity: SpaceIdentity;
}

export interface GoldenRecord {
  kind: 'topic' | 'content';
  input: { title?: string; description?: string; ancestors?: string[]; text?: string };
  text: string;
  token_ids: number[];
  embeddings: Record<string, number[]>;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface LoadBundleOptions {
  /** Manifest variant to serve; default: the manifest's default_variant. */
  variant?: string;
  /** Verify checksums (default true). Only tools that merely print the manifest turn it off. */
  verify?: boolean;
}

export async function loadBundle(dir: string, opts: LoadBundleOptions = {}): Promise<Bundle> {
  const root = path.resolve(dir);
  const manifestFile = path.join(root, 'manifest.json');
  if (!fs.existsSync(manifestFile)) throw new ArtifactError(`${root}: not a bundle (no manifest.json)`);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  } catch (err) {
    throw new ArtifactError(`${manifestFile}: not valid JSON (${(err as Error).message})`);
  }
  const manifest = parseManifest(raw, manifestFile);
  const expectedFormat = DEFAULTS.text_format.version;
  if (manifest.text_format !== expectedFormat) {
    throw new ArtifactError(
      `${manifestFile}: text_format "${manifest.text_format}" does not match this service's "${expectedFormat}" ` +
        `(config/defaults.json); the bundle was trained on differently built texts`,
    );
  }
  const variant = opts.variant ?? manifest.default_variant;
  const variantInfo = manifest.variants[variant];
  if (!variantInfo) {
    throw new ArtifactError(`${manifestFile}: no variant "${variant}" (the bundle has: ${Object.keys(manifest.variants).join(', ')})`);
  }
  if (opts.verify !== false) {
    const files: [string, string, string][] = [
      ['tokenizer', manifest.tokenizer.file, manifest.tokenizer.sha256],
      ['golden', manifest.golden.file, manifest.golden.sha256],
      ...Object.entries(manifest.variants).map(([n, v]): [string, string, string] => [`variants.${n}`, v.file, v.sha256]),
    ];
    for (const [field, file, expected] of files) {
      const p = path.join(root, file);
      if (!fs.existsSync(p)) throw new ArtifactError(`${root}: ${field} file ${file} is missing`);
      const actual = await sha256File(p);
      if (actual !== expected) {
        throw new ArtifactError(`${root}: checksum mismatch for ${field} file ${file}: manifest says sha256 ${expected}, the file has ${actual}`);
      }
    }
  }
  return {
    dir: root,
    manifest,
    variant,
    variantInfo,
    modelPath: path.join(root, variantInfo.file),
    tokenizerPath: path.join(root, manifest.tokenizer.file),
    goldenPath: path.join(root, manifest.golden.file),
    identity: {
      name: manifest.name,
      version: manifest.version,
      variant,
      sha256: variantInfo.sha256,
      dim: manifest.dim,
      textFormat: manifest.text_format,
    },
  };
}

export function readGolden(bundle: Bundle): GoldenRecord[] {
  return fs
    .readFileSync(bundle.goldenPath, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l) as GoldenRecord;
      } catch (err) {
        throw new ArtifactError(`${bundle.goldenPath}: line ${i + 1} is not JSON (${(err as Error).message})`);
      }
    });
}

/** Languages the bundle declares (manifest.languages, else its evaluation's per-language keys). */
export function bundleLanguages(m: BundleManifest): string[] {
  if (m.languages) return m.languages;
  return Object.keys(m.evaluation?.per_language ?? {});
}
