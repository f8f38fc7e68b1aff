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
//   3. rollouts of the release the demo publishes, started through the API: one halted
//      (its reason and failed hospital), one running whose wave waits on an agent that
//      accepted the install (no updater runs), paused then resumed with the console's
//      buttons, the API's state checked after each;
//   4. the ledgers' partitions with IN_DOUBT and manual-queue counts, the read replicas' lag;
//   5. alerts, triage, path availability (the demo's agents' probes, as the health API
//      gives them), the audit log and a real request's trace as a timeline across the
//      control plane and the agent; an alert (H001's HIS made to refuse, its probes fail)
//      resolved by hand with a note;
//   6. the ward page: H001's beds from monitor-sim with live values, alarms high first,
//      acknowledge and silence as the operator (API and audit checked), a rebooting monitor
//      offline;
//   7. a viewer sees no action buttons and the API refuses its pause; English; 200% zoom;
//      no serious or critical axe-core violation on any page; the console builds no HTML
//      from strings.
// Nothing is stood in for: every answer is the control plane's, the session included.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer, connect as connectTcp } from 'node:net';
import { readFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { startDemo, until, noSeriousViolations, screenshot } from './demo.mjs';

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

let demo, origin, runDir, browser, context, page, operatorToken, viewerToken, patientToken;
let halted, running;  // the rollouts the test starts (docs/rollouts.md)

const issue = (role, subject) => execFileSync(`${build}/cli/hisgate`, ['token', 'issue', '--keys', join(runDir, 'secrets/api-keys'),
  '--role', role, '--subject', subject, '--ttl', '1h']).toString().trim();
const bearer = (path) => fetch(`${origin}${path}`, { headers: { Authorization: `Bearer ${operatorToken}` } });

const post = (path, body, token = operatorToken) => fetch(`${origin}${path}`, { method: 'POST',
  headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body ?? {}) });
const rolloutOf = async (id) => (await bearer(`/api/v1/rollouts/${id}`)).json();

// The release scripts/demo published into cp1's repository, rolled out twice:
// - to the north (H003) with a 1 s wave timeout and no failure allowed: the agent accepts
//   release.install (its updater spool) but no updater installs it and no state of it comes
//   within the second, so the engine fails H003 at the deadline and halts the rollout;
// - to the south, H001 first then H002, with the default 30 min wave timeout: H001's install
//   is accepted and waits, so the rollout runs (wave 1 of 2) until the test pauses it.
async function startRollouts() {
  const releases = (await (await bearer('/api/v1/releases')).json()).releases ?? [];
  assert.equal(releases.length, 1, `the demo publishes one release: ${JSON.stringify(releases)}`);
  const release = releases[0].version;
  const start = async (spec) => {
    const res = await post('/api/v1/rollouts', { release, ...spec });
    const body = await res.json();
    assert.equal(res.status, 201, JSON.stringify(body));
    return body.id;
  };
  halted = await start({ waves: '100%', maxFailure: '0%', select: 'region=north', waveTimeout: '1s' });
  await until('the north rollout halted', async () => (await rolloutOf(halted)).state === 'halted', 60000);
  running = await start({ waves: '50%,100%', select: 'region=south', canaries: ['H001'] });
  await until('H001 sent the release', async () => (await rolloutOf(running)).sent === 1, 60000);
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
  await startRollouts();
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
  const [h, r] = [await rolloutOf(halted), await rolloutOf(running)];
  await page.getByRole('navigation').getByRole('link', { name: '版本发布' }).click();
  await page.locator(`tr[data-rollout="${halted}"]`).waitFor();
  assert.match(await page.locator(`tr[data-rollout="${running}"]`).innerText(),
    new RegExp(`${r.release}[\\s\\S]*进行中[\\s\\S]*0/2 家成功 · 第 1/2 批[\\s\\S]*operator:demo-operator`));
  assert.match(await page.locator(`tr[data-rollout="${halted}"]`).innerText(), /已熔断[\s\S]*0\/1 家成功 · 第 1\/1 批/);
  await noSeriousViolations(page, 'rollouts');
  await shot('rollouts');

  // The halted one: the engine's reason and failed hospital as the API gives them, no buttons (final).
  console.log(`the halted rollout: ${h.haltReason}`);
  assert.match(h.haltReason, /H003/);
  assert.deepEqual(h.failed.map((x) => x.hospitalId), ['H003']);
  await page.getByRole('link', { name: halted }).click();
  await page.locator('#halt-reason').waitFor();
  assert.equal(await page.locator('#halt-reason').innerText(), h.haltReason);
  assert.ok((await page.locator('#rollout').innerText()).includes(`失败的医院（1）`));
  assert.ok((await page.locator('#rollout').innerText()).includes(`H003: ${h.failed[0].reason}`));
  assert.equal(await page.locator('tr[data-wave="1"]').locator('td').nth(3).innerText(), '1', 'wave 1: 1 failed');
  assert.equal(await page.locator('#rollout-actions').count(), 0);
  await noSeriousViolations(page, 'halted rollout');

  // The running one: wave 1 (H001) installing, wave 2 (H002) not started; pause, then resume.
  await page.goto(`${origin}/console/rollouts/${running}`);
  await page.locator('#rollout-pause').waitFor();
  assert.equal(await page.locator('#rollout-abort').count(), 1);
  assert.equal(await page.locator('tr[data-wave="1"]').locator('td').nth(6).innerText(), '1', 'wave 1: 1 installing');
  assert.equal(await page.locator('tr[data-wave="2"]').locator('td').nth(1).innerText(), '1', 'wave 2: H002');
  assert.match(await page.locator('tr[data-wave="2"]').innerText(), /未开始/);
  await noSeriousViolations(page, 'running rollout');
  await noSidewaysScrollAt200('rollout');
  await shot('rollout');
  await page.click('#rollout-pause');
  await page.locator('#rollout-state [data-state="paused"]').waitFor();
  assert.match(await page.locator('#rollout-msg').innerText(), /已暂停/);
  assert.equal((await rolloutOf(running)).state, 'paused');
  await page.click('#rollout-resume');
  await page.locator('#rollout-state [data-state="running"]').waitFor();
  const resumed = await rolloutOf(running);
  assert.equal(resumed.state, 'running');
  assert.equal(resumed.currentWave, 1, 'still waiting on H001');
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
  // The heat map: the demo's agents probe three paths every 10 s (scripts/demo); each cell
  // is what the health API gives for that hospital and path.
  const board = await until('probe results from the three hospitals', async () => {
    const paths = (await (await bearer('/api/v1/health/paths')).json()).paths ?? [];
    return new Set(paths.map((p) => p.hospitalId)).size === 3 && paths.length >= 9 ? paths : null;
  }, 60000);
  await page.goto(`${origin}/console/health`);
  const cell = (hid, p) => page.locator(`#health tr[data-hospital="${hid}"] td[data-path="${p}"]`);
  const tone = (a) => a >= 0.99 ? 'good' : a >= 0.9 ? 'fair' : 'poor';
  const checkCells = async (w) => {
    for (const p of board) {
      const c = cell(p.hospitalId, p.path);
      await c.waitFor();
      // The page polls: the count may have grown since the API was read.
      assert.ok(Number(await c.getAttribute('data-availability')) >= 0, `${p.hospitalId} ${p.path}`);
      const n = Number(/(\d+) 次探测/.exec(await c.innerText())[1]);
      assert.ok(n >= p.probes[w], `${p.hospitalId} ${p.path} ${w}: ${n} probes, the API said ${p.probes[w]}`);
      assert.equal(await c.getAttribute('class'), `heat ${tone(Number(await c.getAttribute('data-availability')))}`);
    }
  };
  await checkCells('1h');
  assert.deepEqual((await page.locator('#health tr[data-hospital]').evaluateAll((rows) => rows.map((x) => x.dataset.hospital))),
    ['H001', 'H002', 'H003']);
  const first = board.find((p) => p.hospitalId === 'H001' && p.path === 'lab_report');
  assert.equal(first.lastOutcome, 'ok', JSON.stringify(first));
  assert.match(await cell('H001', 'lab_report').innerText(), /100\.0%/);
  await noSeriousViolations(page, 'heat map 1 h');
  await shot('health');
  await page.click('[data-window="24h"]');
  await checkCells('24h');

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

// An operator journey: H001's HIS refuses everything (his-sim's `reject` fault, through the
// control API the demo names), so its probes fail and path.failed fires; the operator
// starts a note on one of those alerts and the list is redrawn under it (every 5 s: the
// table marked before is replaced), the half-typed note, its caret and its focus kept, and
// the rest is typed on; the alert is resolved by hand with the note (that it stays resolved
// while the HIS still refuses is the unit and system tests' part), and the fault is cleared
// for the pages after.
test('alerts: an operator resolves a firing alert by hand with a note, typed across a refresh', async () => {
  const faults = /curl -s -X PUT (http:\/\/127\.0\.0\.1:\d+)\/faults/.exec(demo.out())[1] + '/faults';
  const fault = async (body) => assert.equal((await fetch(faults, { method: 'PUT', body: JSON.stringify(body) })).status, 200);
  await fault({ reject: 'HIS-DOWN' });
  try {
    const firing = await until('path.failed firing for H001', async () => {
      const alerts = (await (await bearer('/api/v1/alerts?state=firing&hospital=H001')).json()).alerts ?? [];
      return alerts.find((a) => a.rule === 'path.failed') ?? null;
    }, 90000);
    await page.goto(`${origin}/console/alerts`);
    const row = page.locator(`#alerts tr[data-alert="${firing.id}"]`);
    await row.waitFor();
    await noSeriousViolations(page, 'alerts with resolve');
    await row.getByRole('button', { name: '标记为已处理' }).click();  // no note yet: said so, nothing sent
    await row.getByRole('alert').waitFor();
    assert.equal((await (await bearer(`/api/v1/alerts?state=firing&hospital=H001`)).json()).alerts.some((a) => a.id === firing.id), true);
    const note = row.getByRole('textbox');
    await note.fill('H001 的接口');
    await note.press('ArrowLeft');  // the caret one back from the end: it must stay there
    await page.locator('#alerts table').evaluate((t) => { t.dataset.before = 'refresh'; });
    await page.locator('#alerts table:not([data-before])').waitFor({ timeout: 15000 });  // redrawn under the note
    assert.equal(await note.inputValue(), 'H001 的接口');
    assert.equal(await page.evaluate(() => document.activeElement?.id), `alert-note-${firing.id}`);
    assert.equal(await note.evaluate((x) => x.selectionStart), 'H001 的接口'.length - 1);
    await page.keyboard.press('End');
    await page.keyboard.type('服务器已重启');  // into the field that kept the focus
    await row.getByRole('button', { name: '标记为已处理' }).click();
    await row.waitFor({ state: 'detached' });  // gone from the firing list
    const resolved = (await (await bearer('/api/v1/alerts?state=resolved&hospital=H001')).json()).alerts.find((a) => a.id === firing.id);
    assert.equal(resolved?.resolvedBy?.startsWith('operator:'), true, JSON.stringify(resolved));
    assert.equal(resolved.note, 'H001 的接口服务器已重启');
    await page.locator('#alert-state').selectOption('resolved');
    await page.locator(`#alerts tr[data-alert="${firing.id}"] [data-resolved-by]`).waitFor();
    await shot('alerts-resolved');
  } finally {
    await fault({});
  }
});

// The ward page (issue 18 item 4): H001's ICU of simulated bedside monitors (monitor-sim,
// started by scripts/demo) through H001's agent and the control plane's vitals API and feed.
// Alarms and the offline monitor are made by monitor-sim's own control API (docs/monitor-sim.md).
test('ward page: H001\'s beds live from monitor-sim, alarms high first, acknowledge audited, a silent monitor offline, the feed cut and resumed', async () => {
  const simPort = /control API on port (\d+)/.exec(demo.out())[1];
  const fault = async (device, body) => {
    const res = await fetch(`http://127.0.0.1:${simPort}/monitors/${device}/faults`, { method: 'POST', body: JSON.stringify(body) });
    assert.ok(res.ok, `monitor-sim ${device} ${JSON.stringify(body)}: ${res.status} ${await res.text()}`);
  };
  const bedsOf = async () => (await (await bearer('/api/v1/vitals/beds?hospital=H001')).json()).beds ?? [];
  const api = await until('H001\'s 8 beds with a heart rate', async () => {
    const b = await bedsOf();
    return b.length === 8 && b.every((x) => (x.values ?? []).some((v) => v.name === 'heart_rate')) ? b : null;
  }, 120000);
  await page.getByRole('navigation').getByRole('link', { name: '病区监护' }).click();
  await page.waitForURL('**/console/wards?hospital=H001');  // the first hospital with beds
  await page.locator('#ward-live[data-state="live"]').waitFor({ timeout: 30000 });
  for (const b of api) {
    const card = page.locator(`#ward article[data-bed="${b.bed}"]`);
    await card.waitFor();
    assert.equal(await card.getAttribute('data-ward'), 'ICU');
  }
  const bed1 = page.locator('#ward article[data-bed="BED-001"]');
  const hr = Number(await bed1.locator('[data-sign="heart_rate"] .value').getAttribute('data-value'));
  const spo2 = Number(await bed1.locator('[data-sign="spo2"] .value').getAttribute('data-value'));
  assert.ok(hr >= 40 && hr <= 180, `heart rate ${hr}`);
  assert.ok(spo2 >= 85 && spo2 <= 100, `SpO2 ${spo2}`);
  assert.match(await bed1.innerText(), /心率\s*[\d.]+\s*\/min\s*\d+ 秒前[\s\S]*血氧饱和度\s*[\d.]+\s*%/);
  assert.match(await bed1.locator('.bed-status').innerText(), /监护仪在线[\s\S]*MON-0001/);
  // Live: the values on screen change without a reload (a marker set now survives).
  await page.evaluate(() => { window.wardMarker = 1; });
  const shown = () => page.locator('#ward [data-sign] .value').evaluateAll((xs) => xs.map((x) => x.dataset.value).join(','));
  const before = await shown();
  await until('a value changed on screen', async () => (await shown()) !== before, 30000);
  assert.equal(await page.evaluate(() => window.wardMarker), 1, 'no reload');

  // Alarms: a low then a high one on BED-002, listed high first as the device gave them.
  await fault('MON-0002', { kind: 'alarm', priority: 'L', technical: false });
  await fault('MON-0002', { kind: 'alarm', priority: 'H', technical: false });
  const bed2 = page.locator('#ward article[data-bed="BED-002"]');
  try {
    await bed2.locator('li[data-priority="high"]').first().waitFor({ timeout: 30000 });
    await bed2.locator('li[data-priority="low"]').first().waitFor({ timeout: 30000 });
  } catch (e) {
    const all = (await (await bearer('/api/v1/vitals/alarms?hospital=H001')).json()).alarms.filter((a) => a.bed === 'BED-002');
    const sim = await (await fetch(`http://127.0.0.1:${simPort}/monitors`)).json();
    console.log('DIAG api', JSON.stringify(all), 'live', await page.locator('#ward-live').getAttribute('data-state'),
      'page', await bed2.innerText(), 'sim', JSON.stringify(sim.monitors.find((m) => m.device === 'MON-0002')));
    throw e;
  }
  const rank = { high: 3, medium: 2, low: 1 };
  for (const card of await page.locator('#ward article[data-bed]').all()) {
    const ps = await card.locator('li[data-alarm]').evaluateAll((xs) => xs.map((x) => x.dataset.priority));
    assert.deepEqual(ps, [...ps].sort((a, b) => rank[b] - rank[a]), `high first: ${ps}`);
  }
  const open = (await (await bearer('/api/v1/vitals/alarms?hospital=H001&open=true')).json()).alarms;
  for (const li of await page.locator('#ward li[data-alarm]').all()) {
    const shownId = await li.getAttribute('data-alarm');
    const a = open.find((x) => String(x.id) === shownId);
    if (a) assert.ok(rank[await li.getAttribute('data-priority')] >= rank[a.priority], `alarm ${a.id} shown lower than ${a.priority}`);
  }
  await noSeriousViolations(page, 'ward');
  await noSidewaysScrollAt200('ward');
  await shot('ward');

  // The operator acknowledges the high one: gone from the page, acknowledged in the API, audited.
  const high = bed2.locator('li[data-priority="high"]').first();
  const id = await high.getAttribute('data-alarm');
  await high.locator('button[data-action="acknowledge"]').click();
  await page.locator(`#ward li[data-alarm="${id}"]`).waitFor({ state: 'detached' });
  const acked = (await (await bearer('/api/v1/vitals/alarms?hospital=H001')).json()).alarms.find((x) => String(x.id) === id);
  assert.equal(acked.state, 'acknowledged');
  assert.equal(acked.acknowledged.by, 'demo-operator');
  const audit = (await (await bearer('/api/v1/vitals/audit?hospital=H001')).json()).audit;
  assert.ok(audit.find((e) => String(e.alarmId) === id && /ack/.test(e.action) && e.who === 'demo-operator'),
    `audit: ${JSON.stringify(audit.slice(0, 5))}`);
  // Silence the low one for 60 s.
  const low = bed2.locator('li[data-priority="low"]').first();
  const lowId = await low.getAttribute('data-alarm');
  await low.locator('input[type="number"]').fill('60');
  await low.locator('button[data-action="silence"]').click();
  await page.locator(`#ward li[data-alarm="${lowId}"][data-state="silenced"]`).waitFor();

  // A monitor that goes silent (rebooting for 60 s) is shown offline, with why.
  await fault('MON-0003', { kind: 'reboot', down_ms: 60000 });
  const bed3 = page.locator('#ward article[data-bed="BED-003"] .monitor[data-device="MON-0003"]');
  await page.locator('#ward article[data-bed="BED-003"] .monitor[data-online="false"]').waitFor({ timeout: 30000 });
  assert.match(await bed3.innerText(), /监护仪离线[\s\S]*原因：/);
  console.log(`ward page: BED-003 offline: ${await bed3.locator('.reason').innerText()}`);

  // The feed's connection lost (issue 18): the page, opened through a loopback relay to cp1
  // (the same host, so the same session cookie), has every connection cut and new ones
  // refused: it says it is reconnecting, its re-read of the beds fails and the cards stay;
  // once the relay lets connections through it reads the beds again, reopens the feed, and
  // BED-001's heart rate moves on past the last one shown before the cut, then again,
  // without a reload. Device times only (data-observed), no clock of the test's.
  const relay = await wardRelayTo(Number(new URL(origin).port));
  try {
    await page.goto(`http://127.0.0.1:${relay.port}/console/wards?hospital=H001`);
    await page.locator('#ward-live[data-state="live"]').waitFor({ timeout: 30000 });
    await page.evaluate(() => { window.wardMarker = 2; });
    const heartRate = page.locator('#ward article[data-bed="BED-001"] [data-sign="heart_rate"]');
    const observed = async () => Number(await heartRate.getAttribute('data-observed', { timeout: 1000 }));
    await until('a heart rate on screen', observed, 30000);
    const failedRead = page.waitForEvent('requestfailed', { predicate: (r) => r.url().includes('/api/v1/vitals/beds'), timeout: 30000 });
    const cut = Date.now();
    relay.cut(true);
    await page.locator('#ward-live[data-state="reconnecting"]').waitFor({ timeout: 15000 });
    const lastBefore = await observed();
    await failedRead;
    assert.equal(await page.locator('#ward article[data-bed]').count(), 8, 'the cards stay while the beds cannot be read');
    relay.cut(false);
    await page.locator('#ward-live[data-state="live"]').waitFor({ timeout: 30000 });
    const after = await until('a heart rate newer than the cut', async () => { const o = await observed(); return o > lastBefore && o; }, 30000);
    await until('a newer one still', async () => (await observed()) > after, 30000);
    assert.equal(await page.evaluate(() => window.wardMarker), 2, 'no reload');
    assert.equal(await page.locator('#ward article[data-bed]').count(), 8);
    console.log(`ward page: the feed cut, live again and moving on ${Date.now() - cut} ms after the cut`);
  } finally {
    await relay.close();
  }
});

// A loopback TCP relay to `port` whose connections the ward test cuts: cut(true) destroys
// every relayed connection and refuses new ones (accepted, then closed) until cut(false).
function wardRelayTo(port) {
  const open = new Set();
  let refusing = false;
  const server = createServer((down) => {
    if (refusing) return down.destroy();
    const up = connectTcp(port, '127.0.0.1');
    const end = () => { down.destroy(); up.destroy(); open.delete(down); };
    open.add(down);
    down.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
    down.pipe(up).pipe(down);
  });
  const dropAll = () => { for (const s of [...open]) s.destroy(); };
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    port: server.address().port,
    cut: (refuse) => { refusing = refuse; if (refuse) dropAll(); },
    close: () => new Promise((r) => { dropAll(); server.close(() => r()); }),
  })));
}

test('a viewer sees no action buttons; English; no markup in the source', async () => {
  await page.getByRole('button', { name: '退出' }).click();
  await page.waitForURL('**/console/signin');
  await signIn(viewerToken);
  await page.waitForURL('**/console/fleet');
  assert.match(await page.locator('#who').innerText(), /v1（只读）/);
  assert.equal(await page.getByRole('navigation').getByRole('link', { name: '审计日志' }).count(), 0, 'no audit log link');
  await page.goto(`${origin}/console/rollouts/${running}`);
  await page.locator('#rollout-state [data-state="running"]').waitFor();
  assert.equal(await page.locator('#rollout-actions').count(), 0, 'no pause, resume or abort for a viewer');
  assert.equal(await page.locator('button[data-action]').count(), 0);
  assert.equal((await post(`/api/v1/rollouts/${running}/pause`, {}, viewerToken)).status, 403, 'the API refuses a viewer too');
  assert.equal((await rolloutOf(running)).state, 'running');
  // The ward page: alarms shown, no acknowledge or silence; the API refuses the viewer too.
  await page.goto(`${origin}/console/wards?hospital=H001`);
  const alarm = page.locator('#ward li[data-alarm]').first();
  await alarm.waitFor({ timeout: 60000 });
  assert.equal(await page.locator('#ward button, #ward input').count(), 0, 'no acknowledge or silence for a viewer');
  const ackRes = await post(`/api/v1/vitals/alarms/${await alarm.getAttribute('data-alarm')}/acknowledge`, {}, viewerToken);
  assert.equal(ackRes.status, 403, 'the API refuses a viewer\'s acknowledge');
  await page.goto(`${origin}/console/rollouts/${running}`);
  await page.locator('#rollout-state [data-state="running"]').waitFor();
  // English, the same page.
  await page.getByRole('button', { name: 'English' }).click();
  await page.getByRole('heading', { name: `Rollout ${running}` }).waitFor();
  assert.match(await page.locator('#rollout').innerText(), /Wave results/);
  await noSeriousViolations(page, 'rollout (English, viewer)');
  await page.getByRole('button', { name: '中文' }).click();
  // The message files have the same keys; the console builds no HTML from strings.
  const messages = (lang) => JSON.parse(readFileSync(join(web, `src/messages/console.${lang}.json`), 'utf8'));
  assert.deepEqual(Object.keys(messages('zh-CN')).sort(), Object.keys(messages('en')).sort());
  const source = readFileSync(join(web, 'src/console.ts'), 'utf8');
  assert.doesNotMatch(source.replace(/^\s*\/\/.*$/gm, ''), /innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
});
