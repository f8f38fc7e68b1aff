// The operator console (web/src/console.ts, docs/console.md "Pages") in a real browser
// against real processes.
//
//   node web/tests/console.test.mjs SOURCE_DIR BUILD_DIR [--screenshots DIR]
//
// Starts scripts/demo on BUILD_DIR's programs in a run directory of its own, then drives
// Debian's Chromium with playwright-core at laptop width (1280 × 800):
//   1. sign-in with a staff token: a wrong one and a patient's are refused, the demo's
//      operator token signs in;
//   2. the fleet by region: the demo's three hospitals online with the version the API gives;
//   3. rollouts: progress, wave results and halt reasons, pause then resume (the demo serves
//      no release repository, so the rollout routes answer a stand-in rollout; the requests
//      the buttons send, with their CSRF token, are checked);
//   4. the ledgers' partitions with IN_DOUBT and manual-queue counts, the read replicas' lag;
//   5. alerts, triage, path availability, the audit log and a real request's trace as a
//      timeline across the control plane and the agent;
//   6. a viewer sees no action buttons; English; 200% zoom; no serious or critical axe-core
//      violation on any page; nothing a field holds is parsed as markup.
// The session endpoint is the control plane's when it serves it, else console-session.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { startDemo, until, noSeriousViolations, screenshot } from './demo.mjs';
import { consoleSessionServed, installConsoleSession } from './console-session.mjs';

const require = createRequire(import.meta.url);
const web = dirname(dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);
const [src, build] = args;
const shotsAt = args.indexOf('--screenshots') >= 0 ? args[args.indexOf('--screenshots') + 1] : null;
if (!src || !build) { console.error('usage: console.test.mjs SOURCE_DIR BUILD_DIR [--screenshots DIR]'); process.exit(2); }

const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!existsSync(chromiumPath)) { console.log(`skipped: no ${chromiumPath} (scripts/install-deps installs it)`); process.exit(77); }
if (!existsSync(join(web, 'node_modules/.package-lock.json')))
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: web, stdio: 'inherit' });
const { chromium } = require('playwright-core');
const laptop = { viewport: { width: 1280, height: 800 }, locale: 'zh-CN' };

let demo, origin, runDir, browser, context, page, operatorToken, viewerToken, patientToken, shimmed = false;
const sent = [];  // the stand-in rollout routes' POSTs: {path, csrfOk}

const issue = (role, subject) => execFileSync(`${build}/cli/hisgate`, ['token', 'issue', '--keys', join(runDir, 'secrets/api-keys'),
  '--role', role, '--subject', subject, '--ttl', '1h']).toString().trim();
const bearer = (path) => fetch(`${origin}${path}`, { headers: { Authorization: `Bearer ${operatorToken}` } });

// Two rollouts as GET /api/v1/rollouts answers them (docs/rollouts.md): one running in its
// second wave, one halted, whose texts carry markup that must show as text.
const markup = '<img src=x onerror="window.__owned=1"><b>bold</b>';
function standInRollouts() {
  const figures = (o) => ({ size: 0, pending: 0, checking: 0, installing: 0, succeeded: 0, failed: 0, held: 0, refused: 0, superseded: 0, ...o });
  const now = Date.now();
  return {
    'r-1a2b3c4d5e6f7081': { id: 'r-1a2b3c4d5e6f7081', release: '0.4.0', state: 'running', createdBy: 'operator:demo-operator',
      createdMs: now - 60000, updatedMs: now, currentWave: 2, haltReason: '', supersededBy: '', sent: 2,
      totals: figures({ size: 3, succeeded: 1, installing: 1, pending: 1 }),
      waves: [{ wave: 1, percent: 34, started: true, ...figures({ size: 1, succeeded: 1 }) },
              { wave: 2, percent: 100, started: true, ...figures({ size: 2, installing: 1, pending: 1 }) }],
      failed: [], held: [{ hospitalId: 'H002', reason: 'params', paramsProblems: ['his.timeout_ms: ' + markup] }], refused: [] },
    'r-0f0e0d0c0b0a0908': { id: 'r-0f0e0d0c0b0a0908', release: '0.3.9', state: 'halted', createdBy: 'admin:ops',
      createdMs: now - 86400000, updatedMs: now - 86000000, currentWave: 1, supersededBy: '', sent: 1,
      haltReason: 'failed 1 of 1 sent (100.0% > 5.0%) in wave 1: H003 ' + markup,
      totals: figures({ size: 3, failed: 1, pending: 2 }),
      waves: [{ wave: 1, percent: 34, started: true, ...figures({ size: 1, failed: 1 }) },
              { wave: 2, percent: 100, started: false, ...figures({ size: 2, pending: 2 }) }],
      failed: [{ hospitalId: 'H003', reason: 'probe.failed ' + markup }], held: [], refused: [] },
  };
}

async function installStandInRollouts() {
  const rollouts = standInRollouts();
  const json = (route, status, body) => route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(body) });
  await context.route(/\/api\/v1\/rollouts(\/|\?|$)/, async (route) => {
    const req = route.request();
    const path = new URL(req.url()).pathname;
    const parts = path.split('/').filter(Boolean);  // api v1 rollouts {id} {action}
    if (req.method() === 'GET' && parts.length === 3) return json(route, 200, { rollouts: Object.values(rollouts) });
    const r = rollouts[parts[3]];
    if (!r) return json(route, 404, { code: 'rollout.not_found', message: 'no such rollout' });
    if (req.method() === 'GET') return json(route, 200, r);
    const cookies = await context.cookies(origin);
    const csrf = cookies.find((c) => c.name === 'hg_csrf')?.value ?? '';
    const session = cookies.find((c) => c.name === 'hg_session')?.value ?? '';
    const csrfOk = !!csrf && (await req.allHeaders())['x-csrf-token'] === csrf;
    sent.push({ path, csrfOk });
    if (!csrfOk) return json(route, 403, { code: 'auth.csrf', message: 'X-CSRF-Token' });
    if (session === viewerToken) return json(route, 403, { code: 'auth.forbidden', message: 'rollouts are changed by operators and admins' });
    if (['halted', 'aborted', 'done'].includes(r.state)) return json(route, 422, { code: 'rollout.final', message: 'final' });
    r.state = { pause: 'paused', resume: 'running', abort: 'aborted' }[parts[4]];
    return json(route, 200, r);
  });
}

before(async () => {
  demo = await startDemo(src, build, 'hisgate-console-');
  runDir = demo.runDir;
  origin = /portal:\s+(http:\/\/127\.0\.0\.1:\d+)\//.exec(demo.out())[1];
  operatorToken = readFileSync(join(runDir, 'secrets/operator.token'), 'utf8').trim();
  viewerToken = issue('viewer', 'v1');
  patientToken = issue('patient', 'P-DEMO-1');
  await until('the three hospitals online', async () =>
    ((await (await bearer('/api/v1/fleet?state=online')).json()).hospitals ?? []).length === 3);
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  context = await browser.newContext(laptop);
  if (!(await consoleSessionServed(origin, operatorToken))) {
    shimmed = true;
    console.log('the control plane serves no /api/v1/console/session: console-session.mjs plays its contract');
    await installConsoleSession(context, { origin, tokens: new Map([
      [operatorToken, { role: 'operator', subject: 'demo-operator' }], [viewerToken, { role: 'viewer', subject: 'v1' }],
      [patientToken, { role: 'patient', subject: 'P-DEMO-1' }]]) });
  }
  await installStandInRollouts();
  page = await context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
});

after(async () => {
  await browser?.close();
  await demo?.stop();
});

const shot = (name) => screenshot(page, shotsAt, `console-${name}`);

// 200% zoom on a laptop: a 1280 px window at zoom 2 is 640 CSS px; the page does not
// scroll sideways (wide tables scroll inside their own region).
async function noSidewaysScrollAt200(name) {
  await page.evaluate(() => { document.body.style.zoom = '2'; });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  await page.evaluate(() => { document.body.style.zoom = ''; });
  assert.ok(overflow <= 1, `${name}: horizontal overflow at 200%: ${overflow}px`);
}

async function signIn(token) {
  await page.goto(`${origin}/console/signin`);
  await page.fill('#token', token);
  await page.getByRole('button', { name: '登录', exact: true }).click();
}

test('sign-in: a wrong token and a patient token are refused, the demo operator token signs in', async () => {
  await page.goto(`${origin}/console`);
  await page.waitForURL('**/console/signin**');
  await noSeriousViolations(page, 'console sign-in');
  await shot('signin');
  await signIn('not-a-token');
  assert.match(await page.locator('main .error').innerText(), /令牌无效或已过期/);
  await signIn(patientToken);
  assert.match(await page.locator('main .error').innerText(), /患者或服务令牌/);
  await signIn(operatorToken);
  await page.waitForURL('**/console/fleet');
  assert.match(await page.locator('#who').innerText(), /demo-operator（运维）/);
  const cookies = await context.cookies(origin);
  assert.ok(cookies.find((c) => c.name === 'hg_session')?.httpOnly, 'hg_session is HttpOnly');
  assert.equal(await page.evaluate(() => document.cookie.includes('hg_session')), false);
});

test('fleet by region: the demo\'s hospitals online with their version and dialect, the replicas\' lag', async () => {
  const api = await (await bearer('/api/v1/fleet')).json();
  await page.goto(`${origin}/console/fleet`);
  for (const x of api.hospitals) {
    const row = page.locator(`#fleet tr[data-hospital="${x.hospitalId}"]`);
    await row.waitFor();
    assert.equal(await row.getAttribute('data-state'), 'online');
    assert.equal(await row.locator('.version').innerText(), x.version);
    assert.match(await row.innerText(), new RegExp(`在线[\\s\\S]*${x.dialect}`));
  }
  assert.match(await page.locator('#fleet-summary').innerText(), /共 3 家医院：3 家在线/);
  const regions = (await page.locator('#fleet h2').allInnerTexts()).map((x) => x.replace(/\s+/g, ' '));
  assert.ok(regions.includes('华北 （1 家）') && regions.includes('华南 （2 家）'), `regions: ${regions}`);
  await page.locator('#fleet tr[data-replica]').first().waitFor();
  assert.equal(await page.locator('#fleet tr[data-replica]').count(), 2);
  await noSeriousViolations(page, 'fleet');
  await shot('fleet');
  await noSidewaysScrollAt200('fleet');
});

test('rollouts: progress, wave results and halt reasons, then pause and resume', async () => {
  await page.getByRole('navigation').getByRole('link', { name: '版本发布' }).click();
  await page.locator('tr[data-rollout="r-0f0e0d0c0b0a0908"]').waitFor();
  assert.match(await page.locator('tr[data-rollout="r-1a2b3c4d5e6f7081"]').innerText(), /进行中[\s\S]*1\/3 家成功 · 第 2\/2 批/);
  const halted = await page.locator('tr[data-rollout="r-0f0e0d0c0b0a0908"]').innerText();
  assert.match(halted, /已熔断[\s\S]*failed 1 of 1 sent/);
  assert.ok(halted.includes(markup), 'the halt reason\'s markup is shown as text');
  await noSeriousViolations(page, 'rollouts');
  await shot('rollouts');

  // The halted one: its reason, its failed hospital, no buttons (final).
  await page.getByRole('link', { name: 'r-0f0e0d0c0b0a0908' }).click();
  await page.locator('#halt-reason').waitFor();
  assert.ok((await page.locator('#halt-reason').innerText()).includes(markup));
  assert.match(await page.locator('#rollout').innerText(), /失败的医院（1）[\s\S]*H003: probe\.failed/);
  assert.equal(await page.locator('#rollout-actions').count(), 0);
  await noSeriousViolations(page, 'halted rollout');

  // The running one: pause, then resume; each request carries the session's CSRF token.
  await page.goto(`${origin}/console/rollouts/r-1a2b3c4d5e6f7081`);
  await page.locator('#rollout-pause').waitFor();
  assert.equal(await page.locator('#rollout-abort').count(), 1);
  assert.equal(await page.locator('tr[data-wave="2"]').locator('td').nth(1).innerText(), '2');
  await noSeriousViolations(page, 'running rollout');
  await noSidewaysScrollAt200('rollout');
  await shot('rollout');
  await page.click('#rollout-pause');
  await page.locator('#rollout-state [data-state="paused"]').waitFor();
  assert.match(await page.locator('#rollout-msg').innerText(), /已暂停/);
  await page.click('#rollout-resume');
  await page.locator('#rollout-state [data-state="running"]').waitFor();
  assert.deepEqual(sent, [{ path: '/api/v1/rollouts/r-1a2b3c4d5e6f7081/pause', csrfOk: true },
                          { path: '/api/v1/rollouts/r-1a2b3c4d5e6f7081/resume', csrfOk: true }]);
  assert.equal(await page.locator('main img, main b').count(), 0);
  assert.equal(await page.evaluate(() => window.__owned), undefined);
});

test('ledgers: each partition with its IN_DOUBT and manual-queue counts, and the split', async () => {
  const map = await (await bearer('/api/v1/ledger/partitions')).json();
  await page.getByRole('navigation').getByRole('link', { name: '账本' }).click();
  for (const name of Object.keys(map.partitions)) {
    const row = page.locator(`#ledgers tr[data-partition="${name}"]`);
    await row.waitFor();
    assert.equal(await row.locator('[data-count="in_doubt"]').innerText(), '0');
    assert.equal(await row.locator('[data-count="manual"]').innerText(), '0');
  }
  assert.match(await page.locator('#ledgers').innerText(), new RegExp(`分区映射版本：${map.epoch}[\\s\\S]*没有进行中或最近的拆分`));
  await noSeriousViolations(page, 'ledgers');
  await noSidewaysScrollAt200('ledgers');
  await shot('ledgers');
});

test('alerts, triage, path availability, the audit log and a request\'s trace as a timeline', async () => {
  for (const [name, id] of [['告警', '#alerts'], ['故障分派', '#triage'], ['业务通路可用率', '#health'], ['审计日志', '#audit']]) {
    await page.getByRole('navigation').getByRole('link', { name }).click();
    await until(`${name} loaded`, async () => !(await page.locator(id).innerText()).includes('加载中'), 15000);
    assert.equal(await page.locator(`${id} .error`).count(), 0, `${name}: ${await page.locator(id).innerText()}`);
    await noSeriousViolations(page, name);
    await shot(id.slice(1));
  }
  // The heat map: the demo's agents run no probes (the board is empty), so it is drawn
  // from a stand-in answer in the shape of docs/alerts.md "Health board".
  const path = (hospitalId, p, h1, h24, failure) => ({ hospitalId, path: p, lastOutcome: failure ? 'failed' : 'ok',
    availability: { '1h': h1, '24h': h24 }, probes: { '1h': 60, '24h': 1440 },
    ...(failure ? { lastFailure: { at: new Date().toISOString(), reason: failure } } : {}) });
  await page.route('**/api/v1/health/paths', (route) => route.fulfill({ status: 200, contentType: 'application/json',
    body: JSON.stringify({ paths: [path('H001', 'report', 0.5, 0.99, 'his.timeout'), path('H001', 'booking', 1, 1),
                                   path('H002', 'report', 0.95, 0.97, markup)] }) }));
  await page.goto(`${origin}/console/health`);
  const cell = (hid, p) => page.locator(`#health tr[data-hospital="${hid}"] td[data-path="${p}"]`);
  await cell('H001', 'report').waitFor();
  assert.match(await cell('H001', 'report').innerText(), /50\.0%[\s\S]*60 次探测 · his\.timeout/);
  assert.equal(await cell('H001', 'report').getAttribute('class'), 'heat poor');
  assert.equal(await cell('H002', 'booking').innerText(), '—');
  await noSeriousViolations(page, 'heat map 1 h');
  await shot('health');
  await page.click('[data-window="24h"]');
  assert.match(await cell('H001', 'report').innerText(), /99\.0%[\s\S]*1440 次探测/);
  assert.equal(await cell('H001', 'report').getAttribute('class'), 'heat good');
  assert.equal(await cell('H002', 'report').getAttribute('class'), 'heat fair');
  assert.equal(await page.locator('#health img, #health b').count(), 0);
  await page.unroute('**/api/v1/health/paths');

  // The audit log once the control plane keeps one (docs/console.md, "Audit log"): the
  // sign-in is the newest entries' kind of change; before that the page says it is not served.
  await page.goto(`${origin}/console/audit`);
  await until('the audit page', async () => !(await page.locator('#audit').innerText()).includes('加载中'), 15000);
  if (await page.locator('#audit [data-not-served]').count()) console.log('audit page: not served by this control plane');
  else {
    // This operator's sign-in is a change the log keeps: newest first, with who and from where.
    const row = page.locator('#audit tr[data-seq]', { hasText: 'POST /api/v1/console/session' }).first();
    await row.waitFor();
    assert.match(await row.innerText(), /demo-operator[\s\S]*运维[\s\S]*200[\s\S]*127\.0\.0\.1/);
    await page.fill('#audit-who', 'nobody-at-all');
    await page.getByRole('button', { name: '筛选' }).click();
    await page.getByText('没有审计记录').waitFor();
    await noSeriousViolations(page, 'audit');
    console.log('audit page: served, the sign-in listed');
  }

  // A real request: the lab report through H001's agent; its trace from the control plane's
  // log and the agent's.
  const res = await bearer('/api/v1/hospitals/H001/reports/R-DEMO-1');
  const traceId = /^00-([0-9a-f]{32})-/.exec(res.headers.get('traceparent'))[1];
  await page.getByRole('navigation').getByRole('link', { name: '请求追踪' }).click();
  await page.fill('#trace-id', 'not a trace');
  await page.getByRole('button', { name: '查看' }).click();
  await page.getByText('追踪号应为 32 位小写十六进制').waitFor();
  await page.fill('#trace-id', traceId);
  await page.getByRole('button', { name: '查看' }).click();
  await page.waitForURL(`**/console/trace/${traceId}`);
  await page.locator('.timeline li[data-proc="agent:H001"]').first().waitFor({ timeout: 30000 });
  assert.ok(await page.locator('.timeline li[data-proc="controlplane:cp1"]').count() >= 2);
  const text = await page.locator('.timeline').innerText();
  assert.match(text, /api\.request[\s\S]*his\.query_sent[\s\S]*api\.response/);
  await noSeriousViolations(page, 'trace');
  await noSidewaysScrollAt200('trace');
  await shot('trace');
});

test('a viewer sees no action buttons; English; no markup in the source', async () => {
  await page.getByRole('button', { name: '退出' }).click();
  await page.waitForURL('**/console/signin');
  await signIn(viewerToken);
  await page.waitForURL('**/console/fleet');
  assert.match(await page.locator('#who').innerText(), /v1（只读）/);
  assert.equal(await page.getByRole('navigation').getByRole('link', { name: '审计日志' }).count(), 0, 'no audit log link');
  await page.goto(`${origin}/console/rollouts/r-1a2b3c4d5e6f7081`);
  await page.locator('#rollout-state').waitFor();
  assert.equal(await page.locator('#rollout-actions').count(), 0, 'no pause, resume or abort for a viewer');
  assert.equal(await page.locator('button[data-action]').count(), 0);
  // English, the same page.
  await page.getByRole('button', { name: 'English' }).click();
  await page.getByRole('heading', { name: 'Rollout r-1a2b3c4d5e6f7081' }).waitFor();
  assert.match(await page.locator('#rollout').innerText(), /Wave results/);
  await noSeriousViolations(page, 'rollout (English, viewer)');
  await page.getByRole('button', { name: '中文' }).click();
  // The message files have the same keys; the console builds no HTML from strings.
  const messages = (lang) => JSON.parse(readFileSync(join(web, `src/messages/console.${lang}.json`), 'utf8'));
  assert.deepEqual(Object.keys(messages('zh-CN')).sort(), Object.keys(messages('en')).sort());
  const source = readFileSync(join(web, 'src/console.ts'), 'utf8');
  assert.doesNotMatch(source.replace(/^\s*\/\/.*$/gm, ''), /innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  console.log(`session: ${shimmed ? 'console-session.mjs (the control plane serves no /api/v1/console/session)' : 'the control plane\'s'}`);
});
