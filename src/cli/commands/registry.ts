import type { Command } from '../command.js';
import { doctorCommand } from './doctor.js';
import { encodeCommand } from './encode.js';
import { evalCommand } from './eval.js';
import { exportCommand } from './export.js';
import { indexCommand } from './index-corpus.js';
import { infoCommand } from './info.js';
import { mineCommand } from './mine.js';
import { pushCommand } from './push.js';
import { searchCommand } from './search.js';
import { serveCommand } from './serve.js';
import { addCommand, compactCommand, deleteCommand } from './write.js';

/** Every CLI command, in the order `semsearch --help` lists them. Add new commands here. */
export const COMMANDS: readonly Command[] = [indexCommand, addCommand, deleteCommand, compactCommand, searchCommand, pushCommand, infoCommand, encodeCommand, evalCommand, mineCommand, serveCommand, exportCommand, doctorCommand];
