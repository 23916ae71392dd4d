/**
 * What the IPC handler does with one call, free of Electron so it is unit-tested: check the sender, validate
 * with the shared schema, then run the desktop override (open/show/pick) or the backend.
 */
import type { ApiMethod, BackendPort, Result } from '../../shared/api';
import { isApiMethod, validateRequest } from '../../shared/schemas';
import { APP_HOST, APP_SCHEME } from './channels';

/** Methods the desktop answers itself (the backend says `unsupported` for them). */
export type DesktopOverrides = Partial<Record<ApiMethod, (request: unknown) => Promise<Result<unknown>>>>;

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
  if (typeof method !== 'string' || !isApiMethod(method)) {
    return { ok: false, code: 'not_found', message: `Unknown API method "${String(method).slice(0, 60)}".` };
  }
  const valid = validateRequest(method, request);
  if (!valid.ok) return { ok: false, code: 'invalid_input', message: valid.message };
  try {
    const override = overrides[method];
    return override ? await override(valid.value) : await backend.call(method, valid.value);
  } catch (e) {
    return { ok: false, code: 'internal', message: e instanceof Error ? e.message.split('\n')[0] : String(e) };
  }
}
