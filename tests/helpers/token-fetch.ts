/**
 * Browser mode wants its access token on every /api request. The page sends it as a cookie; the renderer's
 * HTTP client run from Node (no cookie jar) gets it the way scripts send it, as a Bearer header.
 */
export function useServerToken(token: string): () => void {
  const real = globalThis.fetch;
  globalThis.fetch = (input: RequestInfo | URL, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${token}`);
    return real(input, { ...init, headers });
  };
  return () => {
    globalThis.fetch = real;
  };
}
