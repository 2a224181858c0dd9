// `semsearch/server`: an index served over HTTP (search, encode, similarity, metrics, a search page).
export { createServer } from './server.js';
export type { ServeOptions, SemsearchServer } from './server.js';
export type { Limits as ServeLimits } from './schemas.js';
