import { SemsearchError } from '../errors.js';
import { resolvePrompt } from '../encoder/encode.js';
import { rolePromptName, type SentenceTransformer } from '../encoder/sentence-transformer.js';
import type { IndexModelInfo } from './manifest.js';

/**
 * The prompts an index's vectors were made with: the text put before every document, and the one every query
 * takes ("" for none). Recorded in the manifest so a search encodes its queries to match the documents, whatever
 * prompt names the build was given.
 */
export interface IndexPrompts {
  query: string;
  document: string;
}

/** Prompt names asked for at build time; absent: sentence-transformers' encode_query / encode_document choice. */
export interface PromptNames {
  queryPromptName?: string;
  documentPromptName?: string;
}

function textOf(model: SentenceTransformer, role: 'query' | 'document', name: string | undefined, field: string): string {
  const promptName = name ?? rolePromptName(model.config, role);
  try {
    return resolvePrompt(model.config, promptName !== undefined ? { promptName } : {}) ?? '';
  } catch (e) {
    // The same message, naming the option the caller set.
    if (e instanceof SemsearchError) throw new SemsearchError(e.code, e.message, { field });
    throw e;
  }
}

/** The prompt texts a build with these names applies. */
export function buildPrompts(model: SentenceTransformer, names: PromptNames = {}): IndexPrompts {
  return {
    query: textOf(model, 'query', names.queryPromptName, 'queryPromptName'),
    document: textOf(model, 'document', names.documentPromptName, 'documentPromptName'),
  };
}

/**
 * The prompts of an index: the manifest's, or for an index built before they were recorded, what that build and
 * its searches applied (documents: plain encode, so default_prompt_name; queries: encode_query).
 */
export function indexPrompts(info: IndexModelInfo, model: SentenceTransformer): IndexPrompts {
  if (info.prompts !== undefined) return info.prompts;
  return { query: textOf(model, 'query', undefined, 'prompts'), document: resolvePrompt(model.config, {}) ?? '' };
}
