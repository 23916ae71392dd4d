/** PhotoSearchApi over the browser-mode server: POST /api/<method>, photos by URL, events by SSE. */
import type { ApiEvent, ApiMethod, PhotoSearchApi, Result } from '../../../shared/api';
import { buildApi } from './build';

const UNREACHABLE = 'Cannot reach Photo Search. Check that `photo-search serve` is still running, then reload.';

export function createHttpApi(base = ''): PhotoSearchApi {
  const listeners = new Set<(e: ApiEvent) => void>();
  let connected = true;
  const dispatch = (event: ApiEvent) => {
    for (const l of [...listeners]) l(event);
  };
  const setConnected = (now: boolean) => {
    if (now === connected) return;
    connected = now;
    dispatch({ type: 'connection', connected: now });
  };

  async function call(method: ApiMethod, request?: unknown): Promise<Result<unknown>> {
    let res: Response;
    try {
      res = await fetch(`${base}/api/${method}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: request === undefined ? '' : JSON.stringify(request),
      });
    } catch {
      setConnected(false);
      return { ok: false, code: 'internal', message: UNREACHABLE };
    }
    try {
      // Errors come back as Results with a non-2xx status; the body says what happened either way.
      return (await res.json()) as Result<unknown>;
    } catch {
      return { ok: false, code: 'internal', message: `The server answered ${res.status} without a readable result.` };
    }
  }

  let source: EventSource | null = null;
  function ensureSource(): void {
    if (source) return;
    source = new EventSource(`${base}/api/events`);
    // EventSource reconnects by itself (the server asks for a 2 s retry): its open/error events are the
    // one place that knows whether the server is there, so the header indicator follows them.
    source.onopen = () => setConnected(true);
    source.onerror = () => {
      if (source?.readyState !== EventSource.OPEN) setConnected(false);
    };
    source.onmessage = (msg) => {
      let event: ApiEvent;
      try {
        event = JSON.parse(msg.data as string) as ApiEvent;
      } catch {
        return;
      }
      dispatch(event);
    };
  }

  return buildApi(call, {
    photoUrl: (id, size) => `${base}/api/photo/${id}?size=${size}`,
    desktop: false,
    onEvent(listener) {
      listeners.add(listener);
      ensureSource();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && source) {
          source.close();
          source = null;
        }
      };
    },
  });
}
