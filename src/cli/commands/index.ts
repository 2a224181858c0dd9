import type { Command } from '../command.js';
import { encodeCommand } from './encode.js';

/** Every CLI command, in the order `semsearch --help` lists them. Add new commands here. */
export const COMMANDS: readonly Command[] = [encodeCommand];
