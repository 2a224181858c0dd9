// `semsearch/hub`: model names → local folders in the huggingface_hub cache, and which ONNX file runs well here
// (the CPU's int8 kernels decide which quantized file is accurate).
export { resolveModel } from './resolve.js';
export type { ResolveModelOptions, NetworkOptions } from './resolve.js';
export type { DownloadProgress, ProgressListener } from './progress.js';
export { onnxFilePath, KNOWN_VARIANTS } from './model-files.js';
export { parseModelRef, DEFAULT_ORGANIZATION } from './names.js';
export type { ModelRef } from './names.js';
export { hubCacheDir } from './environment.js';
export { detectCpu, ISAS } from '../cpu/features.js';
export type { CpuFacts, Isa, DetectCpuOptions } from '../cpu/features.js';
export { chooseInt8Variant, isAccurateOn, INT8_PREFERENCE, QUANTIZED_VARIANTS } from '../cpu/int8.js';
export type { Int8Choice, QuantizedVariant } from '../cpu/int8.js';
