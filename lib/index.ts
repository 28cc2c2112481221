export { backendInfo, type Device } from './backend.js';
export type { BackendInfo, CudaDevice } from './native.js';
