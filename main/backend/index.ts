/**
 * The backend's public entry: all the fronts (the CLI, the browser-mode server, the Electron shell) import
 * from here and nowhere else in backend/ (a lint rule holds it): start-up (which hands out the API table's
 * handlers), the port the transports run calls through, and the few helpers a front needs around them.
 */
export { startBackend, type RunningBackend, type BackendOptions } from './backend';
export { backendPort } from './handlers';
export { AppError, errorResult } from './errors';
export { expandHome, resolveDataDir } from './paths';
export { repairLibrary } from './repair';
export { isPathInside, resolveAllowedFile } from './fs/confine';
