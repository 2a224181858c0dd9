import { basename, isAbsolute } from 'node:path';

/**
 * The name the server gives its model (/info, /v1/models): a hub name as is, a folder by its last part, since the
 * path only says where the server's files are.
 */
export function servedModelId(ref: string): string {
  return isAbsolute(ref) ? basename(ref) : ref;
}
