// The package entry ('headgrad'): the product's API. Building blocks that are not (SVG charts,
// number formatting, batching, NNLS) are at 'headgrad/utils' (lib/utils.ts).
export { backendInfo, resolveDevice, type Device, type Precision } from './backend.js';
export {
  HeadgradError, HeadgradTypeError, HeadgradRangeError, isHeadgradError, ERROR_CODES,
  type HeadgradErrorCode, type AnyHeadgradError,
} from './errors.js';
export type { BackendInfo, CudaDevice, OptimizerState } from './native.js';
export { cosine, cv, gini, pearson, spearman, topK, topKJaccard } from './patterns/metrics.js';
export { decompose, type Decomposition, type DecomposeMethod, type DecomposeOptions } from './patterns/decompose.js';
export {
  deltaPattern, patternFromArray, readPattern, writePattern,
  type LoadedPattern, type Pattern, type PatternFile, type Provenance, type WritePatternOptions,
} from './patterns/pattern.js';
export { readReport, renderReport, writeReport } from './report/html.js';
export { parseReportSpec, type FigureSpec, type ReportBlock, type ReportFile, type ReportSection, type ReportSpec } from './report/spec.js';
export { decompositionReport, fittedPattern } from './report/decomposition.js';
export {
  attentionForward, attentionBackward, attentionForwardSync, attentionBackwardSync,
  type AttentionShape, type AttentionOptions, type AttentionForwardResult, type AttentionBackwardResult,
} from './attention.js';
export {
  readCheckpoint, writeCheckpoint, parameterLayout, parameterCount, validateConfig, resolveConfig, CheckpointError,
  type Checkpoint, type CheckpointFormat, type GPTConfig, type ParameterTensor, type ResolvedConfig, type RopeScaling,
} from './checkpoint/index.js';
export { ByteTokenizer, Gpt2Tokenizer, tokenizerFor, type Tokenizer } from './tokenizer.js';
export { HfTokenizer, readHfTokenizer } from './hf_tokenizer.js';
export { ChatTemplate, type ChatMessage } from './chat_template.js';
export { tokenizerForModel } from './model_tokenizer.js';
export { isChatSample, isTextSample, type Sample, type ChatSample, type TextSample, type TrainingSample } from './data/sample.js';
export { readJsonl, readSamples, readPromptSamples, writeJsonl } from './data/jsonl.js';
export { trainTestSplit } from './data/split.js';
export { TASKS, getTask, pretrainCorpus, type Task, type TaskKind } from './data/tasks.js';
export {
  sft, learningRate, SftDivergedError, SftAbortedError,
  type SftOptions, type SftEvalOptions, type SftSnapshotOptions, type ScheduleOptions, type SftHistory, type SftMode, type StepRecord, type EvalRecord, type SnapshotRecord,
} from './sft.js';
export { telemetryRecord, telemetryJson, telemetryFromJson, type TelemetryOptions, type TelemetryRecord, type TelemetryJson } from './telemetry/record.js';
export { TraceWriter, readTrace } from './telemetry/trace_file.js';
export { settling, SETTLE_RULE, type Settling } from './telemetry/settle.js';
export { traceReport } from './report/trace.js';
export { heldOutLoss, exactMatchAccuracy, type Checker } from './evaluate.js';
export { activationPattern, patternProvenance, modelHash, dataHash, type ActivationPattern, type ActivationOptions, type ShardSpec } from './patterns/activation.js';
export { ablateHeads, type AblationOptions, type AblationResult, type AblatedRun } from './patterns/ablation.js';
export {
  estimateMemory, availableMemory, checkMemory, MemoryError,
  type MemoryEstimate, type AvailableMemory, type Workload, type TrainMode,
} from './memory_plan.js';
export { GPT, type GPTCreateOptions, type LoadOptions, type SaveOptions, type ForwardOptions, type BackwardOptions, type StepOptions, type GenerateOptions, type OpProfile } from './model.js';
