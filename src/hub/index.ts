// Public surface of the hub module: model name → local snapshot folder in the huggingface_hub cache.
export { resolveModel } from './resolve.js';
export type { ResolveModelOptions, NetworkOptions } from './resolve.js';
export type { DownloadProgress, ProgressListener } from './progress.js';
export { onnxFilePath, KNOWN_VARIANTS } from './model-files.js';
export { parseModelRef, DEFAULT_ORGANIZATION } from './names.js';
export type { ModelRef } from './names.js';
export { hubCacheDir } from './environment.js';
