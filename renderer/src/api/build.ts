/** The transport-independent part of PhotoSearchApi: every request method forwards to one `call`. */
import type { ApiMethod, PhotoSearchApi, Result } from '../../../shared/api';

/** Sends one request over the transport; must turn transport failures into a Result, never throw. */
export type ApiCall = <T>(method: ApiMethod, request?: unknown) => Promise<Result<T>>;

/** What differs per transport besides `call`: how photos are addressed and how events arrive. */
export type TransportExtras = Pick<PhotoSearchApi, 'photoUrl' | 'onEvent' | 'desktop'>;

export function buildApi(call: ApiCall, extras: TransportExtras): PhotoSearchApi {
  // Spelled out per method (not a Proxy) so adding a method to PhotoSearchApi fails to compile here.
  return {
    status: () => call('status'),
    search: (req) => call('search', req),
    searchLike: (req) => call('searchLike', req),
    folders: () => call('folders'),
    addFolder: (req) => call('addFolder', req),
    removeFolder: (req) => call('removeFolder', req),
    rescan: () => call('rescan'),
    skipped: (req) => call('skipped', req),
    jobs: () => call('jobs'),
    cancelJob: (req) => call('cancelJob', req),
    inspectCaptionSet: (req) => call('inspectCaptionSet', req),
    startTraining: (req) => call('startTraining', req),
    models: () => call('models'),
    activateModel: (req) => call('activateModel', req),
    importModel: (req) => call('importModel', req),
    removeModel: (req) => call('removeModel', req),
    openPhoto: (req) => call('openPhoto', req),
    showInFolder: (req) => call('showInFolder', req),
    pickFolder: () => call('pickFolder'),
    photoUrl: extras.photoUrl,
    onEvent: extras.onEvent,
    desktop: extras.desktop,
  };
}
