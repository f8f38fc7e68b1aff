// What the browser tests share: scripts/demo on a build's programs in a run directory of
// its own (free loopback ports, no hospital away), waiting, and the axe-core check.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export async function until(what, check, ms = 90000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try { const v = await check(); if (v) return v; } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// Starts the demo; resolves once it says it is running: {runDir, out(), stop()}.
export async function startDemo(src, build, prefix) {
  const work = mkdtempSync(join(tmpdir(), prefix));
  const runDir = join(work, 'run');
  let out = '';
  const demo = spawn(join(src, 'scripts/demo'), [], { cwd: src, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DEMO_RUN_DIR: runDir, DEMO_BUILD_DIR: build, DEMO_AWAY: '' } });
  demo.stdout.on('data', (d) => { out += d; });
  demo.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((r) => demo.on('exit', r));
  const stop = async () => {
    if (demo.exitCode === null) {
      process.kill(-demo.pid, 'SIGTERM');  // the demo's own group: it stops what it started
      await exited;
    }
    rmSync(work, { recursive: true, force: true });
  };
  try {
    await Promise.race([until('the demo to start', () => out.includes('hisgate demo is running'), 180000),
                        exited.then(() => { throw new Error('the demo exited:\n' + out.slice(-3000)); })]);
  } catch (e) {
    await stop();
    throw e;
  }
  return { runDir, out: () => out, stop };
}

// No serious or critical axe-core violation on the page as it is. Evaluated through the
// DevTools protocol: the CSP (script-src 'self') refuses an injected <script> tag.
export async function noSeriousViolations(page, name) {
  await page.evaluate(readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'));
  const found = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ['violations'] })).violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help} (${v.nodes.length}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')})`));
  assert.deepEqual(found, [], `axe on ${name}`);
}

// A full-page screenshot DIR/NAME.png when DIR is given (--screenshots), else nothing.
export async function screenshot(page, dir, name) {
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}
