// Builds the portal into dist/ (esbuild, minified, content-hashed names): the entry's JS and
// CSS, the chunk it shares with the operator console, and the console's own chunk, which
// main.ts imports only on /console paths; index.html naming the entry, FILE.gz beside each
// file (the control plane sends those to browsers that accept gzip), and prints the first
// load's compressed size (docs/benchmarks.md).
import * as esbuild from 'esbuild';
import { gzipSync } from 'node:zlib';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// node build.mjs [OUT_DIR]: dist/ by default; scripts/demo builds into its run directory,
// so two demos (or a demo and a test) running at once never share an output directory.
const here = dirname(fileURLToPath(import.meta.url));
const dist = process.argv[2] ? resolve(process.argv[2]) : join(here, 'dist');
rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, 'assets'), { recursive: true });

const result = await esbuild.build({
  entryPoints: [join(here, 'src/main.ts')],
  bundle: true, minify: true, format: 'esm', target: ['es2020'], splitting: true,
  outdir: join(dist, 'assets'), entryNames: 'app-[hash]', chunkNames: 'chunk-[hash]', metafile: true, write: true,
  legalComments: 'none',
});
// The entry's JS and CSS and the chunks it imports statically are the first load; a chunk
// imported dynamically (the operator console, on /console paths only) is not.
const outputs = result.metafile.outputs;
const entry = Object.keys(outputs).find((p) => outputs[p].entryPoint && p.endsWith('.js'));
const firstLoad = new Set([entry]);
for (const p of firstLoad)
  for (const i of outputs[p].imports) if (i.kind === 'import-statement' && !i.external) firstLoad.add(i.path);
const css = outputs[entry].cssBundle ?? Object.keys(outputs).find((p) => p.endsWith('.css'));
firstLoad.add(css);
const js = basename(entry);
writeFileSync(join(dist, 'index.html'),
  readFileSync(join(here, 'index.html'), 'utf8').replace('APP_JS', js).replace('APP_CSS', basename(css)));

let compressed = 0, raw = 0, later = 0;
for (const p of Object.keys(outputs)) {
  const f = basename(p);
  const bytes = readFileSync(join(dist, 'assets', f));
  const gz = gzipSync(bytes, { level: 9 });
  writeFileSync(join(dist, 'assets', f + '.gz'), gz);
  if (firstLoad.has(p)) { raw += bytes.length; compressed += gz.length; } else later += gz.length;
}
const html = readFileSync(join(dist, 'index.html'));
writeFileSync(join(dist, 'index.html.gz'), gzipSync(html, { level: 9 }));
console.log(`portal built: ${[...firstLoad].map((p) => basename(p)).join(' ')}; first load JS+CSS ${raw} bytes, ${compressed} bytes gzip (budget 256000); \n` +
            `  loaded later (the console): ${later} bytes gzip`);
if (compressed > 250 * 1024) { console.error('over the 250 KB budget'); process.exit(1); }
