/** The transport-independent part of PhotoSearchApi: one function per method of the API table, each forwarding to `call`. */
import { API_METHODS, type ApiClient, type ApiMethod, type PhotoSearchApi, type Result } from '../../../shared/api';

/** Sends one request over the transport; must turn transport failures into a Result, never throw. */
export type ApiCall = (method: ApiMethod, request?: unknown) => Promise<Result<unknown>>;

/** What differs per transport besides `call`: how photos are addressed and how events arrive. */
export type TransportExtras = Pick<PhotoSearchApi, 'photoUrl' | 'onEvent' | 'desktop'>;

export function buildApi(call: ApiCall, extras: TransportExtras): PhotoSearchApi {
  // The method set comes from the table itself, so no transport can lack a method or have an extra one.
  // The results are typed by the table: the main side's handlers are checked against the same types.
  const methods = Object.fromEntries(API_METHODS.map((m) => [m, (request?: unknown) => call(m, request)])) as unknown as ApiClient;
  return { ...methods, photoUrl: extras.photoUrl, onEvent: extras.onEvent, desktop: extras.desktop };
}
