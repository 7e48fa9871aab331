export { Encoder, type EncoderOptions, type TextKind, type Logger } from './encoder.js';
export { BundleTokenizer } from './tokenizer.js';
export { TokenBudgetBatcher, packBatches } from './batcher.js';
