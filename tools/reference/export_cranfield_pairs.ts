// Writes the Cranfield mining set (src/mine/test-support/cranfield-pairs.ts) as JSON for make_mine_fixtures.py, so
// that Python mines exactly the texts semsearch's readers give. Run by that script:
//   node --conditions=source --import tsx tools/reference/export_cranfield_pairs.ts OUT.json
import { writeFileSync } from 'node:fs';
import { cranfieldPairs } from '../../src/mine/test-support/cranfield-pairs.js';

writeFileSync(process.argv[2] as string, JSON.stringify(await cranfieldPairs()));
