import { readFileSync } from 'node:fs';
import { SemsearchError } from '../errors.js';

export type JsonObject = Record<string, unknown>;

/** Read a JSON object from a model folder; a missing file is CONFIG_MISSING, bad JSON CONFIG_INVALID. */
export function readJsonObject(file: string): JsonObject {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new SemsearchError('CONFIG_MISSING', `cannot read ${file}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`, { file, cause });
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (cause) {
    throw new SemsearchError('CONFIG_INVALID', `${file} is not valid JSON: ${(cause as Error).message}`, { file, cause });
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new SemsearchError('CONFIG_INVALID', `${file} must hold a JSON object`, { file });
  }
  return v as JsonObject;
}

/** Read a JSON array (modules.json is one). */
export function readJsonArray(file: string): unknown[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new SemsearchError('CONFIG_MISSING', `cannot read ${file}`, { file, cause });
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (cause) {
    throw new SemsearchError('CONFIG_INVALID', `${file} is not valid JSON: ${(cause as Error).message}`, { file, cause });
  }
  if (!Array.isArray(v)) throw new SemsearchError('CONFIG_INVALID', `${file} must hold a JSON array`, { file });
  return v;
}
