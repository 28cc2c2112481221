export { backendInfo, type Device } from './backend.js';
export type { BackendInfo, CudaDevice } from './native.js';
export {
  attentionForward, attentionBackward, attentionForwardSync, attentionBackwardSync,
  type AttentionShape, type AttentionOptions, type AttentionForwardResult, type AttentionBackwardResult,
} from './attention.js';
export {
  readCheckpoint, writeCheckpoint, parameterLayout, parameterCount, validateConfig, CheckpointError,
  type Checkpoint, type CheckpointFormat, type GPTConfig, type ParameterTensor,
} from './checkpoint/index.js';
export { ByteTokenizer, Gpt2Tokenizer, tokenizerFor, type Tokenizer } from './tokenizer.js';
export type { Sample } from './data/sample.js';
export { readJsonl, readSamples, writeJsonl } from './data/jsonl.js';
export { shuffled, trainTestSplit } from './data/split.js';
export { makeBatch, batches, promptTokens, type Batch, type BatchOptions, type Weighting } from './data/batch.js';
export { TASKS, getTask, pretrainCorpus, type Task, type TaskKind } from './data/tasks.js';
export { GPT, type GPTCreateOptions, type ForwardOptions, type StepOptions, type GenerateOptions, type OpProfile } from './model.js';
