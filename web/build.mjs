// Builds the portal into dist/: one hashed JS and one hashed CSS file (esbuild, minified),
// index.html naming them, FILE.gz beside each (the control plane sends those to browsers
// that accept gzip), and prints the first load's compressed size (docs/benchmarks.md).
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
  bundle: true, minify: true, format: 'esm', target: ['es2020'],
  outdir: join(dist, 'assets'), entryNames: 'app-[hash]', metafile: true, write: true,
  legalComments: 'none',
});
const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
const js = outputs.find((f) => f.endsWith('.js'));
const css = outputs.find((f) => f.endsWith('.css'));
writeFileSync(join(dist, 'index.html'),
  readFileSync(join(here, 'index.html'), 'utf8').replace('APP_JS', js).replace('APP_CSS', css));

let compressed = 0, raw = 0;
for (const f of [js, css]) {
  const bytes = readFileSync(join(dist, 'assets', f));
  const gz = gzipSync(bytes, { level: 9 });
  writeFileSync(join(dist, 'assets', f + '.gz'), gz);
  raw += bytes.length;
  compressed += gz.length;
}
const html = readFileSync(join(dist, 'index.html'));
writeFileSync(join(dist, 'index.html.gz'), gzipSync(html, { level: 9 }));
console.log(`portal built: ${js} ${css}; first load JS+CSS ${raw} bytes, ${compressed} bytes gzip (budget 256000)`);
if (compressed > 250 * 1024) { console.error('over the 250 KB budget'); process.exit(1); }
