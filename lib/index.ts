export { backendInfo, type Device } from './backend.js';
export type { BackendInfo, CudaDevice } from './native.js';
export {
  attentionForward, attentionBackward, attentionForwardSync, attentionBackwardSync,
  type AttentionShape, type AttentionOptions, type AttentionForwardResult, type AttentionBackwardResult,
} from './attention.js';
