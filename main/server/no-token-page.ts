/**
 * The page a browser gets at the app's address without the access token (no cookie yet, the browser was
 * closed, or the server restarted with a new token): it says which link to open, instead of an app whose every
 * request is refused and that shows "Disconnected" for ever.
 */
import { createHash } from 'node:crypto';

const STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:15vh auto;padding:0 1.5rem;color:#1f2328}' +
  'h1{font-size:1.4rem;margin:0 0 .75rem}code{background:#eef1f4;padding:.1rem .3rem;border-radius:4px}' +
  '@media (prefers-color-scheme:dark){body{background:#16181c;color:#e6e8eb}code{background:#2a2e35}}';

/** The page's own CSP: nothing but its one inline style (by hash). */
export const NO_TOKEN_CSP =
  `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; ` +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const NO_TOKEN_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Photo Search: open the link with the access token</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>Open the link <code>photo-search serve</code> printed</h1>
<p>This address needs the access token that only the link printed by <code>photo-search serve</code> carries
(<code>http://…/?token=…</code>). Open that link, or start it again with <code>npx photo-search serve --open</code>.</p>
<p>A new token is made at each start, so after a restart open the link it printed last.</p>
</main>
</body>
</html>
`;
