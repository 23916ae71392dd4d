/**
 * A stand-in for the backend at the transport edge: it records the calls that got past the edge's checks
 * and answers what the test asks, so the IPC dispatch and the browser-mode server are tested on their own.
 */
import type { ApiEvent, ApiMethod, ApiParams, ApiResult, BackendPort, Result } from '../../shared/api';

export class RecordingBackend implements BackendPort {
  calls: { method: ApiMethod; request: unknown }[] = [];
  readonly listeners = new Set<(e: ApiEvent) => void>();

  constructor(
    private readonly answer: (method: ApiMethod, request: unknown) => Result<unknown> = () => ({ ok: true, value: null }),
    private readonly photos: Record<number, string> = {},
  ) {}

  call<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<Result<ApiResult<M>>> {
    this.calls.push({ method, request: params });
    // The answers are whatever the test needs, not the method's real result type.
    return Promise.resolve(this.answer(method, params) as Result<ApiResult<M>>);
  }

  async photoFile(id: number): Promise<string | null> {
    return this.photos[id] ?? null;
  }

  onEvent(listener: (e: ApiEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(e: ApiEvent): void {
    for (const l of this.listeners) l(e);
  }
}
