/** IPC channel names; preload/index.ts repeats them because a sandboxed preload cannot require our files. */
export const CALL_CHANNEL = 'photo-search:call';
export const EVENT_CHANNEL = 'photo-search:event';
/** The scheme that serves the built renderer, and the one that serves photos. */
export const APP_SCHEME = 'app';
export const APP_HOST = 'renderer';
export const PHOTO_SCHEME = 'photo';
