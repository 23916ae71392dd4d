#!/usr/bin/env node
'use strict';
// `npm start` after the build: the desktop app. Electron (45 and later) downloads its binary from GitHub on first
// use; where that cannot work (offline, a proxy, a blocked host) its own output is a stack trace, so fetch it here
// with that output captured and say in one line what failed and what gives the same UI without Electron.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const electronDir = path.dirname(require.resolve('electron/package.json', { paths: [root] }));
const { version } = require(path.join(electronDir, 'package.json'));

if (!fs.existsSync(path.join(electronDir, 'dist', 'version'))) console.error(`Downloading Electron ${version} (first start only)…`);
// electron/install.js exits 0 at once when the binary is in place, else downloads and unpacks it.
const fetched = spawnSync(process.execPath, [path.join(electronDir, 'install.js')], { cwd: electronDir, encoding: 'utf8' });
if (fetched.status !== 0) {
  const output = `${fetched.stderr || ''}\n${fetched.stdout || ''}`;
  const reason = (output.split('\n').map((l) => l.trim()).find((l) => l && !l.startsWith('at ')) || fetched.error?.message || 'no output')
    .replace(/^(Type)?Error:\s*/, '');
  console.error(
    `photo-search: cannot start the desktop app: downloading Electron ${version} from GitHub failed (${reason}). ` +
      '`npx photo-search serve --open` gives the same UI in your browser.',
  );
  if (process.env.PHOTO_SEARCH_DEBUG) console.error(output);
  process.exit(1);
}

// Electron's own launcher forwards signals and the exit code.
const child = spawn(process.execPath, [path.join(electronDir, 'cli.js'), root, ...process.argv.slice(2)], { stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
