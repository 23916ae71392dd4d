#!/usr/bin/env node
'use strict';
// The CLI runs the compiled backend (npm install builds it through the `prepare` script).
const path = require('node:path');
const fs = require('node:fs');
const entry = path.join(__dirname, '..', 'dist', 'main', 'cli', 'index.js');
if (!fs.existsSync(entry)) {
  console.error('photo-search is not built yet. Run `npm install` (or `npm run build`) in ' + path.join(__dirname, '..'));
  process.exit(1);
}
require(entry).main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error('photo-search: ' + (err && err.message ? err.message : String(err))); process.exitCode = 1; },
);
