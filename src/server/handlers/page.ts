import { readFileSync } from 'node:fs';
import type { Page } from '../router.js';

// Both src/server/handlers/ and dist/server/handlers/ sit three levels below the package root, where the page
// and package.json are.
export const PACKAGE_ROOT = new URL('../../../', import.meta.url);

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

const HEADERS = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/** The search page, read once at start: its files are small and never change while the server runs. */
export function loadPage(): Page {
  return Object.fromEntries(
    Object.entries(FILES).map(([path, p]) => [path, { type: p.type, headers: HEADERS, body: readFileSync(new URL(`src/server/page/${p.file}`, PACKAGE_ROOT)) }]),
  );
}
