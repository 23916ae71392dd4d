/**
 * What the IPC handler does with one call, free of Electron so it is unit-tested: check the sender, then the
 * one edge check of the API table (acceptCall), then run the desktop override (open/show/pick) or the backend.
 */
import { acceptCall, type ApiParams, type ApiResult, type BackendPort, type Result } from '../../shared/api';
import { APP_HOST, APP_SCHEME } from './channels';
import { oneLine } from '../../shared/format';

type DesktopMethod = 'openPhoto' | 'showInFolder' | 'pickFolder';
/** Methods the desktop answers itself (the backend says `unsupported` for them), typed by the API table. */
export type DesktopOverrides = { [M in DesktopMethod]?: (params: ApiParams<M>) => Promise<Result<ApiResult<M>>> };

/** Only our own renderer page may call the API (not a navigated-away or embedded frame). */
export function isTrustedSenderUrl(url: string | undefined | null): boolean {
  if (!url) return false;
  try {
    const u = new URL(url);
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST;
  } catch {
    return false;
  }
}

export async function dispatchCall(
  backend: BackendPort,
  overrides: DesktopOverrides,
  senderUrl: string | undefined | null,
  method: unknown,
  request: unknown,
): Promise<Result<unknown>> {
  if (!isTrustedSenderUrl(senderUrl)) return { ok: false, code: 'forbidden', message: 'This page may not use the Photo Search API.' };
  const accepted = acceptCall(method, request);
  if (!accepted.ok) return accepted;
  const call = accepted.call;
  try {
    if (call.method === 'openPhoto' && overrides.openPhoto) return await overrides.openPhoto(call.params);
    if (call.method === 'showInFolder' && overrides.showInFolder) return await overrides.showInFolder(call.params);
    if (call.method === 'pickFolder' && overrides.pickFolder) return await overrides.pickFolder(call.params);
    return await backend.call(call.method, call.params);
  } catch (e) {
    return { ok: false, code: 'internal', message: oneLine(e) };
  }
}
