import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { SemsearchError } from '../errors.js';

/** Where ONNX Runtime runs the model: the CPU (default), or an NVIDIA GPU through ONNX Runtime's CUDA provider. */
export const DEVICES = ['cpu', 'cuda'] as const;
export type Device = (typeof DEVICES)[number];

/**
 * The command that puts ONNX Runtime's CUDA provider into onnxruntime-node, run from the project folder: the
 * package's own install script with its own flag. semsearch's install denies that script (it would download the
 * CUDA provider, hundreds of MB, for every user), so a GPU user runs it once by hand.
 */
export const CUDA_INSTALL_COMMAND = 'ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install';

const README_SECTION = 'README, "GPU (CUDA)"';

/** `device` checked: 'cpu' or 'cuda', exactly; anything else is INVALID_ARGUMENT naming the field. */
export function checkDevice(value: unknown, field = 'device'): Device {
  if (typeof value !== 'string' || !(DEVICES as readonly string[]).includes(value)) {
    throw new SemsearchError('INVALID_ARGUMENT', `${field} must be one of ${DEVICES.join(', ')}; got ${JSON.stringify(value) ?? String(value)}`, { field });
  }
  return value as Device;
}

/** Whether ONNX Runtime can be asked for the CUDA provider here, and if not, why and how to fix it. */
export interface CudaStatus {
  available: boolean;
  /** The folder of onnxruntime-node's native binding, where the provider libraries must lie. */
  folder: string;
  /** The provider libraries this platform needs, and which of them are missing. */
  files: string[];
  missing: string[];
  /** Why not (absent when available). */
  reason?: string;
}

let folderForTests: string | undefined;

/** Tests only: look for the provider libraries in another folder (undefined: onnxruntime-node's own again). */
export function setProviderFolderForTests(folder: string | undefined): void {
  folderForTests = folder;
}

/** The folder of the onnxruntime-node package this one loads, found from where it resolves (never a fixed path). */
export function onnxRuntimePackageFolder(): string {
  // Its main file is dist/index.js.
  return dirname(dirname(createRequire(import.meta.url).resolve('onnxruntime-node')));
}

/** onnxruntime-node's native folder: its binding loads from bin/napi-v6/<platform>/<arch> (dist/binding.js). */
export function onnxRuntimeBinFolder(): string {
  if (folderForTests !== undefined) return folderForTests;
  return join(onnxRuntimePackageFolder(), 'bin', 'napi-v6', process.platform, process.arch);
}

/** CUDA_INSTALL_COMMAND with the path of the onnxruntime-node this process loads, so it is right wherever npm put it. */
export function cudaInstallCommand(): string {
  return `ONNXRUNTIME_NODE_INSTALL=cuda12 node ${join(onnxRuntimePackageFolder(), 'script', 'install')}`;
}

function providerFiles(): string[] {
  if (process.platform === 'win32') return ['onnxruntime_providers_shared.dll', 'onnxruntime_providers_cuda.dll'];
  return ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'];
}

/**
 * Whether this onnxruntime-node can use CUDA: its binding must list the 'cuda' backend, and (unless bundled) the
 * provider libraries its install script downloads must be in its native folder. The CUDA 12 and cuDNN 9 system
 * libraries these load are found only when a session is created; a failure there is DEVICE_UNAVAILABLE too.
 */
export function cudaStatus(): CudaStatus {
  // Required here, not imported at the top: the CLI reads DEVICES for its option lists, and `--help` should not
  // load ONNX Runtime's native binding.
  const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof import('onnxruntime-node');
  const folder = onnxRuntimeBinFolder();
  const files = providerFiles();
  const backend = ort.listSupportedBackends().find((b) => b.name === 'cuda');
  if (backend === undefined) {
    return {
      available: false,
      folder,
      files,
      missing: files,
      reason: `onnxruntime-node ${ort.env.versions.node ?? ''} has no CUDA backend on ${process.platform}/${process.arch} (its CUDA provider is built for Linux x64)`,
    };
  }
  const missing = backend.bundled ? [] : files.filter((f) => !existsSync(join(folder, f)));
  if (missing.length === 0) return { available: true, folder, files, missing };
  return {
    available: false,
    folder,
    files,
    missing,
    reason: `ONNX Runtime's CUDA provider is not installed: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not in ${folder}`,
  };
}

function fixAdvice(): string {
  return (
    `install it with: ${cudaInstallCommand()} ` +
    `(onnxruntime-node's own install script; it needs the CUDA 12 and cuDNN 9 libraries on the system); see ${README_SECTION}. ` +
    `Or use device 'cpu' (--device cpu)`
  );
}

/** Refuses `device` when it cannot run here: DEVICE_UNAVAILABLE naming what is missing and the command that fixes it. */
export function assertDeviceAvailable(device: Device | undefined): void {
  if (device !== 'cuda') return;
  const status = cudaStatus();
  if (status.available) return;
  throw new SemsearchError('DEVICE_UNAVAILABLE', `device 'cuda' was asked for, but ${status.reason}; ${fixAdvice()}`, {
    field: 'device',
    file: join(status.folder, status.missing[status.missing.length - 1] ?? ''),
  });
}

/** ONNX Runtime's execution providers for a device. CUDA runs every node it has a kernel for; ONNX Runtime keeps the rest (shape arithmetic) on the CPU. */
export function executionProvidersFor(device: Device | undefined): string[] {
  return device === 'cuda' ? ['cuda'] : ['cpu'];
}

/** Whether a session-creation failure is the CUDA provider failing to load (its libraries, or CUDA's and cuDNN's). */
export function isProviderLoadFailure(message: string): boolean {
  return /cuda|cudnn|cublas|cufft|curand|nvrtc|providers_shared|shared librar|execution ?provider/i.test(message);
}

/** A session-creation failure with the CUDA provider, as DEVICE_UNAVAILABLE with the fix. */
export function cudaSessionError(file: string, cause: unknown): SemsearchError {
  const first = String((cause as Error)?.message ?? cause).split('\n')[0];
  return new SemsearchError(
    'DEVICE_UNAVAILABLE',
    `device 'cuda': ONNX Runtime cannot start its CUDA provider for ${file}: ${first}. The CUDA provider needs the CUDA 12 runtime and cuDNN 9 ` +
      `(libcudart.so.12, libcublas.so.12, libcudnn.so.9) where the loader finds them (LD_LIBRARY_PATH) and an NVIDIA driver; if the provider itself is missing, ${fixAdvice()}`,
    { file, field: 'device', cause },
  );
}
