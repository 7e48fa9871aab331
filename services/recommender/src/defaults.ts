// Shared defaults: the repository's config/defaults.json is the single source of truth for values
// that training (Python) and the service must agree on. The config module layers env/flags on top.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export interface SharedDefaults {
  text_format: {
    version: string;
    separator: string;
    content_text_max_chars: number;
    content_text_max_words: number;
    max_length: number;
  };
  selection: { margin: number; max_candidates: number; min_items: number };
  index: { exact_below: number; hnsw_m: number; hnsw_ef_construction: number; hnsw_ef_search: number };
  service: {
    http_port: number;
    grpc_port: number;
    max_topics_per_request: number;
    max_text_chars: number;
    max_body_bytes: number;
    max_batch_tokens: number;
    max_batch_wait_ms: number;
  };
}

/** Repository root (two levels above services/recommender/src). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const DEFAULTS_PATH = process.env.RECOMMENDER_DEFAULTS_PATH ?? path.join(REPO_ROOT, 'config', 'defaults.json');

export const DEFAULTS: SharedDefaults = JSON.parse(readFileSync(DEFAULTS_PATH, 'utf8'));
