// Runs resolveModel in a process of its own, for the tests that need two processes or a kill, and for the Python
// interoperation script. Usage: node --import tsx resolve-cli.ts <name> [options as JSON]; the HF_* variables of the
// environment apply. Prints one JSON line: {"ok":true,"dir":...} or {"ok":false,"code":...,"message":...}.
import { resolveModelWithHooks, type ResolveModelOptions, type ResolveTestHooks } from '../resolve.js';
import { isSemsearchError } from '../../errors.js';

const [name, json] = process.argv.slice(2);
if (name === undefined) {
  console.error('usage: resolve-cli.ts <name> [options-json]');
  process.exit(2);
}
const options = (json === undefined ? {} : JSON.parse(json)) as ResolveModelOptions & ResolveTestHooks;
try {
  const dir = await resolveModelWithHooks(name, options);
  console.log(JSON.stringify({ ok: true, dir }));
} catch (e) {
  console.log(JSON.stringify(isSemsearchError(e) ? { ok: false, code: e.code, message: e.message } : { ok: false, code: 'UNEXPECTED', message: String(e) }));
  process.exitCode = 1;
}
