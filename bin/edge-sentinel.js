#!/usr/bin/env node
'use strict';
// Runs the compiled command line (npm run build puts it in dist/).
const path = require('node:path');
const fs = require('node:fs');
const entry = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('edge-sentinel is not built yet: run `npm run build` (npm ci does it too)\n');
  process.exit(1);
}
require(entry).main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`edge-sentinel: ${err && err.stack ? err.stack : err}\n`); process.exitCode = 1; },
);
