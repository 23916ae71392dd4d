/**
 * The backend's public entry: all the fronts (the CLI, the browser-mode server, the Electron shell) import
 * from here and nowhere else in backend/ (a lint rule holds it), so what they may reach is this list.
 */
export { openBackend, type Backend, type BackendOptions } from './backend';
export { expandHome } from './paths';
export { apiHandlers, backendPort } from './handlers';
export { AppError, errorResult } from './errors';
export { resolveDataDir } from './paths';
export { isPathInside, resolveAllowedFile } from './fs/confine';
export { damagedError } from './store';
export { repairLibrary } from './repair';
export { benchIndex } from './bench/bench-index';
export { benchSearch } from './search/bench-search';
