export * from './selection.js';
export { TopK } from './topk.js';
export { meanScores } from './ensemble.js';
