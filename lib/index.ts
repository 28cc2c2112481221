export { backendInfo, type Device } from './backend.js';
export type { BackendInfo, CudaDevice } from './native.js';
export { cosine, cv, gini, pearson, ranks, spearman, topK, topKJaccard } from './patterns/metrics.js';
export { decompose, type Decomposition, type DecomposeMethod, type DecomposeOptions } from './patterns/decompose.js';
export { nnls } from './patterns/nnls.js';
export {
  deltaPattern, patternFromArray, readPattern, writePattern,
  type LoadedPattern, type Pattern, type PatternFile, type Provenance,
} from './patterns/pattern.js';
