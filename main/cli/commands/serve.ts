/** `serve`: browser mode, the app in a browser on 127.0.0.1, over the same API table. */
import type { Command } from 'commander';
import path from 'node:path';
import { AppError, backendPort } from '../../backend';
import { startServer } from '../../server/index';
import type { Runner } from '../context';
import { intIn } from '../options';
import { shown } from '../terminal';

/** The built renderer that `serve` hands out: dist/renderer, next to dist/main/cli (as the desktop shell finds it). */
const RENDERER_DIR = path.join(__dirname, '..', '..', '..', 'renderer');

/** Open a URL with the system's browser; a failure is reported, the server keeps running. */
async function openInBrowser(url: string): Promise<void> {
  try {
    // ESM-only package: loaded when asked for.
    const { default: open } = await import('open');
    const child = await open(url);
    child.once('error', (e) => process.stderr.write(`photo-search: could not open a browser (${shown(e.message)}); open the link above yourself.\n`));
  } catch (e) {
    process.stderr.write(`photo-search: could not open a browser (${shown((e as Error).message)}); open the link above yourself.\n`);
  }
}

export function registerServe(program: Command, run: Runner): void {
  program
    .command('serve')
    .description('browser mode: the app in your browser, on 127.0.0.1 only; open the printed link (it carries the access token)')
    .option('--port <port>', 'port (0 = any free one)', intIn('--port', 0, 65535), 5178)
    .option('--host <host>', 'address to listen on (any 127.x.x.x address; others need --allow-remote)', '127.0.0.1')
    .option(
      '--allow-remote',
      'allow listening on a non-loopback address: anyone on the network who has the printed link (its access token) can use your library; ' +
        'requests must still name the bound address (Host and Origin checks stay on)',
    )
    .option('--open', 'open the link in your web browser')
    .action((o: { port: number; host: string; allowRemote?: boolean; open?: boolean }) =>
      run(async ({ backend }) => {
        // An interrupted model switch resumes; the search index loads now rather than at the first search.
        await backend.startUp();
        const server = await startServer({
          backend: backendPort(backend),
          port: o.port,
          host: o.host,
          allowRemote: !!o.allowRemote,
          staticDir: RENDERER_DIR,
        }).catch((e: unknown) => {
          if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
          throw new AppError('busy', `Port ${o.port} is in use: another copy running? Try --port 0 (any free port).`);
        });
        process.stdout.write(`Photo Search is running at ${shown(server.loginUrl)}\n`);
        process.stdout.write(
          process.env.PHOTO_SEARCH_TOKEN
            ? 'The link carries the access token from $PHOTO_SEARCH_TOKEN: anyone with it can use your library.\n'
            : 'The link carries an access token: anyone with it can use your library. A new one is made at each start.\n',
        );
        if (o.open) await openInBrowser(server.loginUrl);
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        await server.close();
      }),
    );
}
