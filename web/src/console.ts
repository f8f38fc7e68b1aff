// The operator console: the same front end as the portal, on /console/... (docs/console.md,
// "Pages"). Staff sign in by pasting a token; the session (its role) decides which actions
// are shown; the control plane decides what is allowed. Every piece of data goes through
// dom.ts (text nodes and attribute values): nothing a field holds is parsed as markup.
import { h, replace, Child } from './dom';
import { t, setLang, currentLang, has, addMessages } from './i18n';
import zh from './messages/console.zh-CN.json';
import en from './messages/console.en.json';
import { api, loadConfig, setCsrfToken, repeat } from './api';

addMessages({ 'zh-CN': zh, en });

export interface ConsoleSession { role: string; subject: string; csrf_token: string; expires_in_s: number; }
let session: ConsoleSession | null = null;
const main = h('main', { id: 'main', tabindex: '-1', class: 'wide' });
let stopPolling: (() => void) | null = null;

export function isConsolePath(path = location.pathname): boolean {
  return path === '/console' || path.startsWith('/console/');
}
const mayAct = () => session?.role === 'operator' || session?.role === 'admin';

// ---- navigation -------------------------------------------------------------------------
function go(path: string): void {
  history.pushState(null, '', path);
  renderConsole();
}
function link(path: string, ...children: Child[]): HTMLAnchorElement {
  return h('a', { href: path, onclick: (e: Event) => { e.preventDefault(); go(path); } }, ...children);
}
function poll(every: number, step: () => Promise<boolean>): void { stopPolling = repeat(every, step); }

const pages: [string, string][] = [
  ['/console/fleet', 'console.nav.fleet'], ['/console/wards', 'console.nav.wards'],
  ['/console/health', 'console.nav.health'],
  ['/console/alerts', 'console.nav.alerts'], ['/console/triage', 'console.nav.triage'],
  ['/console/rollouts', 'console.nav.rollouts'], ['/console/ledgers', 'console.nav.ledgers'],
  ['/console/audit', 'console.nav.audit'], ['/console/trace', 'console.nav.trace'],
];  // the audit log is read by operators and admins: a viewer has no link to it

function header(): HTMLElement {
  const here = location.pathname;
  return h('header', {},
    h('div', { class: 'bar' },
      link('/console/fleet', h('span', { class: 'brand' }, t('console.name'))),
      session ? h('span', { class: 'who', id: 'who' }, t('console.signed_in', { subject: session.subject, role: roleName(session.role) })) : null,
      h('button', { type: 'button', class: 'lang', lang: currentLang() === 'en' ? 'zh-CN' : 'en',
                    onclick: () => { setLang(currentLang() === 'en' ? 'zh-CN' : 'en'); renderConsole(); } },
        t('lang.switch'))),
    session ? h('nav', { 'aria-label': t('console.nav.label') },
      pages.filter(([path]) => path !== '/console/audit' || mayAct()).map(([path, key]) => {
        const a = link(path, t(key));
        if (here === path || here.startsWith(path + '/')) a.setAttribute('aria-current', 'page');
        return a;
      }),
      h('button', { type: 'button', class: 'linkish', id: 'signout', onclick: signOut }, t('console.signout'))) : null);
}

function roleName(role: string): string { return has(`console.role.${role}`) ? t(`console.role.${role}`) : role; }

function problem(body: any, status?: number): HTMLElement {
  const code = body && typeof body.code === 'string' ? body.code : 'unknown';
  const key = `console.error.${code}`;
  const text = has(key) ? t(key) : has(`error.${code}`) ? t(`error.${code}`) : t('console.error.generic', { code, status: status ?? '' });
  return h('p', { class: 'error', role: 'alert', 'data-code': code }, text,
    body && typeof body.message === 'string' && body.message ? h('span', { class: 'sub' }, body.message) : null);
}

// A route this control plane does not serve (no release repository, no ledger, an older
// build without the audit log): said as such, not as an error.
function notServed(r: { status: number; body: any }): boolean {
  return r.status === 404 && r.body?.code === 'http.not_found' ||
         r.status === 503 && typeof r.body?.code === 'string' && r.body.code.endsWith('.off');
}
function answer(r: { status: number; body: any }, what: string): HTMLElement {
  if (r.status === 401) { session = null; setTimeout(() => go('/console/signin?next=' + encodeURIComponent(location.pathname)), 0); }
  if (notServed(r)) return h('p', { class: 'note', 'data-not-served': what }, t('console.not_served', { what: t(what) }));
  return problem(r.body, r.status);
}

// Times: the API's ISO instants or epoch milliseconds, shown as local "YYYY-MM-DD HH:MM:SS".
function when(v: unknown): string {
  if (v === null || v === undefined || v === '') return '—';
  const d = typeof v === 'number' ? new Date(v) : new Date(String(v));
  if (isNaN(d.getTime())) return String(v);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
function ago(v: unknown): string {
  const ms = typeof v === 'number' ? v : Date.parse(String(v ?? ''));
  if (!isFinite(ms) || ms <= 0) return '';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 90) return t('console.ago.s', { n: s });
  if (s < 5400) return t('console.ago.m', { n: Math.round(s / 60) });
  if (s < 172800) return t('console.ago.h', { n: Math.round(s / 3600) });
  return t('console.ago.d', { n: Math.round(s / 86400) });
}
function pct(x: number): string { return `${(Math.round(x * 1000) / 10).toFixed(1)}%`; }
function str(v: unknown): string { return v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v); }

// A table that scrolls sideways inside itself (a laptop at 200% zoom), keyboard-reachable.
function table(caption: string, heads: string[], rows: Child[], attrs: Record<string, string> = {}): HTMLElement {
  return h('div', { class: 'scroll', tabindex: 0, role: 'region', 'aria-label': caption },
    h('table', attrs,
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, heads.map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, rows)));
}
function badge(tone: string, text: string, state?: string): HTMLElement {
  return h('span', { class: `badge ${tone}`, 'data-state': state ?? null }, text);
}
function stateText(kind: string, state: string): string {
  return has(`console.${kind}.${state}`) ? t(`console.${kind}.${state}`) : state;
}
function loading(): HTMLElement { return h('p', { class: 'note' }, t('common.loading')); }

// ---- sign in ----------------------------------------------------------------------------
function signInScreen(): Child {
  const next = new URLSearchParams(location.search).get('next') || '/console/fleet';
  const msg = h('div', { 'aria-live': 'polite' });
  const token = h('input', { id: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', maxlength: 8192, required: true });
  const form = h('form', { novalidate: true },
    h('p', {}, t('console.signin.how')),
    h('div', { class: 'field' }, h('label', { for: 'token' }, t('console.signin.token')), token),
    msg, h('button', { type: 'submit' }, t('console.signin.submit')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const value = token.value.trim();
    if (!value) return replace(msg, h('p', { class: 'error', role: 'alert' }, t('console.signin.empty')));
    const r = await api('POST', '/api/v1/console/session', { token: value });
    if (r.status === 200 && r.body?.role) {
      session = r.body;
      setCsrfToken(String(r.body.csrf_token ?? ''));
      token.value = '';
      return go(isConsolePath(next) && !next.startsWith('/console/signin') ? next : '/console/fleet');
    }
    if (r.status === 401) return replace(msg, h('p', { class: 'error', role: 'alert', 'data-code': r.body?.code ?? '' }, t('console.signin.bad')));
    if (r.status === 403) return replace(msg, h('p', { class: 'error', role: 'alert', 'data-code': r.body?.code ?? '' }, t('console.signin.role')));
    replace(msg, problem(r.body, r.status));
  });
  return [h('h1', {}, t('console.signin.title')), form];
}

async function signOut(): Promise<void> {
  await api('DELETE', '/api/v1/console/session');
  session = null;
  setCsrfToken('');
  go('/console/signin');
}

// ---- fleet ------------------------------------------------------------------------------
function fleetScreen(): Child {
  const state = h('select', { id: 'fleet-state' },
    h('option', { value: '' }, t('console.fleet.any')),
    ['online', 'offline', 'incompatible'].map((s) => h('option', { value: s }, stateText('fleet', s))));
  const box = h('section', { 'aria-live': 'polite', id: 'fleet' }, loading());
  let all: any[] = [];
  let cursor = '';
  let pp: any = null;
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, t('console.more'));
  const draw = () => {
    const regions = new Map<string, any[]>();
    for (const x of all) {
      const r = String(x.region || '');
      if (!regions.has(r)) regions.set(r, []);
      regions.get(r)!.push(x);
    }
    const online = all.filter((x) => x.state === 'online').length;
    replace(box,
      h('p', { class: 'note', id: 'fleet-summary' }, t('console.fleet.summary', { n: all.length, online, offline: all.length - online })),
      [...regions.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([region, list]) => [
        h('h2', {}, has(`region.${region}`) ? t(`region.${region}`) : region || t('console.fleet.no_region'),
          ' ', h('span', { class: 'muted' }, t('console.fleet.count', { n: list.length }))),
        table(t('console.fleet.caption', { region: region || '—' }),
          ['console.fleet.hospital', 'console.fleet.name', 'console.fleet.state', 'console.fleet.heartbeat',
           'console.fleet.version', 'console.fleet.dialect', 'console.fleet.queue'],
          list.map((x) => h('tr', { 'data-hospital': x.hospitalId, 'data-state': x.state },
            h('td', {}, x.hospitalId), h('td', {}, str(x.name)),
            h('td', {}, badge(x.state === 'online' ? 'ok' : x.state === 'offline' ? 'bad' : 'wait', stateText('fleet', x.state), x.state),
              h('span', { class: 'sub' }, t('console.fleet.since', { at: when(x.since), ago: ago(x.since) }))),
            h('td', {}, x.lastHeartbeat ? ago(x.lastHeartbeat) : '—'),
            h('td', { class: 'version' }, str(x.version)), h('td', {}, str(x.dialect)),
            h('td', {}, x.queue && typeof x.queue === 'object'
              ? t('console.fleet.queue_n', { depth: str(x.queue.depth ?? 0), p99: Number(x.queue.dwellP99Seconds ?? 0).toFixed(1),
                                             oldest: Number(x.queue.oldestSeconds ?? 0).toFixed(1) }) : '—')))),
      ]),
      all.length ? null : h('p', { class: 'note' }, t('console.fleet.none')),
      replicas(pp));
  };
  const load = async (after = ''): Promise<void> => {
    const q = new URLSearchParams({ limit: '100' });
    if (state.value) q.set('state', state.value);
    if (after) q.set('cursor', after);
    const r = await api('GET', `/api/v1/fleet?${q}`);
    if (r.status !== 200) { replace(box, answer(r, 'console.nav.fleet')); return; }
    all = after ? [...all, ...(r.body.hospitals ?? [])] : (r.body.hospitals ?? []);
    cursor = r.body.nextCursor ?? '';
    pp = r.body.publicPartition ?? null;
    more.hidden = !cursor;
    draw();
  };
  state.addEventListener('change', () => { load(); });
  more.addEventListener('click', () => { if (cursor) load(cursor); });
  load().then(() => poll(10000, async () => { if (!cursor) await load(); return true; }));
  return [h('h1', {}, t('console.nav.fleet')),
    h('div', { class: 'field narrow' }, h('label', { for: 'fleet-state' }, t('console.fleet.state')), state),
    box, more];
}

// ---- path availability heat map ----------------------------------------------------------
function healthScreen(): Child {
  let window_ = '1h';
  const box = h('section', { 'aria-live': 'polite', id: 'health' }, loading());
  const pick = h('div', { role: 'group', 'aria-label': t('console.health.window'), class: 'toggle' });
  let paths: any[] = [];
  const tone = (a: number) => a >= 0.99 ? 'good' : a >= 0.9 ? 'fair' : 'poor';
  const draw = () => {
    replace(pick, ['1h', '24h'].map((w) => h('button', { type: 'button', class: w === window_ ? '' : 'secondary',
      'aria-pressed': w === window_ ? 'true' : 'false', 'data-window': w,
      onclick: () => { window_ = w; draw(); } }, t(`console.health.w${w}`))));
    const hospitals = [...new Set(paths.map((p) => String(p.hospitalId)))].sort();
    const names = [...new Set(paths.map((p) => String(p.path)))].sort();
    if (!paths.length) return replace(box, h('p', { class: 'note' }, t('console.health.none')));
    const cell = (hid: string, path: string): HTMLElement => {
      const p = paths.find((x) => x.hospitalId === hid && x.path === path);
      if (!p) return h('td', { class: 'heat none', 'data-path': path }, '—');
      const a = Number(p.availability?.[window_]);
      const n = Number(p.probes?.[window_] ?? 0);
      if (!n || !isFinite(a)) return h('td', { class: 'heat none', 'data-path': path }, t('console.health.no_probes'));
      return h('td', { class: `heat ${tone(a)}`, 'data-path': path, 'data-availability': a },
        pct(a), h('span', { class: 'sub' }, t('console.health.probes', { n }),
          p.lastFailure ? [' · ', str(p.lastFailure.reason)] : null));
    };
    replace(box,
      h('p', { class: 'note' }, t('console.health.legend')),
      h('div', { class: 'scroll', tabindex: 0, role: 'region', 'aria-label': t('console.health.caption', { w: t(`console.health.w${window_}`) }) },
        h('table', { class: 'heatmap' },
          h('caption', {}, t('console.health.caption', { w: t(`console.health.w${window_}`) })),
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('console.fleet.hospital')), names.map((n) => h('th', { scope: 'col' }, n)))),
          h('tbody', {}, hospitals.map((hid) => h('tr', { 'data-hospital': hid }, h('th', { scope: 'row' }, hid), names.map((n) => cell(hid, n))))))));
  };
  const load = async (): Promise<boolean> => {
    const r = await api('GET', '/api/v1/health/paths');
    if (r.status !== 200) { replace(box, answer(r, 'console.nav.health')); return false; }
    paths = r.body.paths ?? [];
    draw();
    return true;
  };
  draw();
  load().then((ok) => { if (ok) poll(15000, load); });
  return [h('h1', {}, t('console.nav.health')), pick, box];
}

// ---- alerts -----------------------------------------------------------------------------
function alertsScreen(): Child {
  const state = h('select', { id: 'alert-state' },
    h('option', { value: 'firing' }, stateText('alert', 'firing')),
    h('option', { value: 'resolved' }, stateText('alert', 'resolved')),
    h('option', { value: '' }, t('console.alert.all')));
  const box = h('section', { 'aria-live': 'polite', id: 'alerts' }, loading());
  // Each firing alert's resolve cell (note, button, answer) is kept from one redraw to the
  // next and moved into the new row: the list refreshes while an operator writes a note,
  // and the note, its caret and its focus stay. Only an open IME composition (a Chinese
  // note half composed) holds the redraw back, to the next round: moving the field would end it.
  let cells = new Map<string, HTMLElement>();
  let composing = false;
  box.addEventListener('compositionstart', () => { composing = true; });
  box.addEventListener('compositionend', () => { composing = false; });
  const load = async (): Promise<boolean> => {
    const q = new URLSearchParams({ limit: '200' });
    if (state.value) q.set('state', state.value);
    const r = await api('GET', `/api/v1/alerts?${q}`);
    if (composing) return true;
    if (r.status !== 200) { replace(box, answer(r, 'console.nav.alerts')); return false; }
    const list: any[] = r.body.alerts ?? [];
    const kept = cells;
    cells = new Map();
    const cellFor = (id: string): HTMLElement => {
      const cell = kept.get(id) ?? resolveAlertCell(id);
      cells.set(id, cell);
      return cell;
    };
    const typing = document.activeElement instanceof HTMLInputElement && box.contains(document.activeElement)
      ? document.activeElement : null;
    const caret = typing ? [typing.selectionStart, typing.selectionEnd, typing.selectionDirection] as const : null;
    replace(box, list.length ? table(t('console.nav.alerts'),
      ['console.alert.state', 'console.alert.rule', 'console.fleet.hospital', 'console.alert.subject',
       'console.alert.started', 'console.alert.owner', 'console.alert.detail', ...(mayAct() ? ['console.alert.resolve'] : [])],
      list.map((a) => h('tr', { 'data-alert': a.id, 'data-rule': a.rule },
        h('td', {}, badge(a.state === 'firing' ? 'bad' : 'done', stateText('alert', a.state), a.state),
          a.resolvedAt ? h('span', { class: 'sub' }, t('console.alert.resolved_at', { at: when(a.resolvedAt) })) : null,
          a.resolvedBy ? h('span', { class: 'sub', 'data-resolved-by': str(a.resolvedBy) },
                           t('console.alert.resolved_by', { who: str(a.resolvedBy), note: str(a.note) })) : null),
        h('td', {}, has(`console.rule.${a.rule}`) ? t(`console.rule.${a.rule}`) : str(a.rule), h('span', { class: 'sub' }, str(a.rule))),
        h('td', {}, str(a.hospitalId) || '—'), h('td', {}, str(a.subject) || '—'),
        h('td', {}, when(a.startedAt)), h('td', {}, str(a.owner)), h('td', { class: 'detail' }, str(a.detail)),
        mayAct() ? (a.state === 'firing' ? cellFor(String(a.id)) : h('td', {}, '—')) : null)))
      : h('p', { class: 'note' }, t('console.alert.none')));
    if (typing?.isConnected && document.activeElement !== typing) {
      typing.focus();
      if (caret && caret[0] !== null && caret[1] !== null) typing.setSelectionRange(caret[0], caret[1], caret[2] ?? undefined);
    }
    return true;
  };
  // An operator resolves a firing alert by hand, saying what was done (POST
  // /api/v1/alerts/{id}/resolve, docs/alerts.md): its condition opens no new alert until it
  // has stopped holding once.
  const resolveAlertCell = (id: string): HTMLElement => {
    const note = h('input', { id: `alert-note-${id}`, class: 'alert-note', maxlength: 500, autocomplete: 'off',
                              'aria-label': t('console.alert.note_for', { id }) }) as HTMLInputElement;
    const out = h('span', { 'aria-live': 'polite' });
    const button = h('button', { type: 'button', class: 'secondary' }, t('console.alert.resolve_button')) as HTMLButtonElement;
    button.addEventListener('click', async () => {
      if (!note.value.trim()) return replace(out, h('span', { class: 'error-text', role: 'alert' }, t('console.alert.note_needed')));
      button.disabled = true;
      const r = await api('POST', `/api/v1/alerts/${encodeURIComponent(id)}/resolve`, { note: note.value.trim() });
      if (r.status !== 200) { button.disabled = false; return replace(out, problem(r.body, r.status)); }
      note.value = '';
      await load();
    });
    return h('td', { class: 'resolve' }, note, h('div', { class: 'actions' }, button), out);
  };
  state.addEventListener('change', () => { load(); });
  load().then((ok) => { if (ok) poll(5000, load); });
  return [h('h1', {}, t('console.nav.alerts')),
    h('div', { class: 'field narrow' }, h('label', { for: 'alert-state' }, t('console.alert.state')), state), box];
}

// ---- triage -----------------------------------------------------------------------------
function triageScreen(): Child {
  const since = h('select', { id: 'triage-since' }, ['1h', '24h', '7d'].map((s) => h('option', { value: s, selected: s === '24h' }, t(`console.since.${s}`))));
  const box = h('section', { 'aria-live': 'polite', id: 'triage' }, loading());
  const load = async () => {
    const r = await api('GET', `/api/v1/triage?${new URLSearchParams({ since: since.value, limit: '1000' })}`);
    if (r.status !== 200) return replace(box, answer(r, 'console.nav.triage'));
    const owners: any[] = r.body.owners ?? [];
    replace(box,
      h('p', { class: 'note' }, t('console.triage.summary', { groups: r.body.groups ?? 0, count: r.body.count ?? 0 })),
      owners.length ? owners.map((o) => h('section', { 'data-owner': o.owner },
        h('h2', {}, has(`console.owner.${o.owner}`) ? t(`console.owner.${o.owner}`) : str(o.owner),
          ' ', h('span', { class: 'muted' }, t('console.triage.owner_count', { groups: o.groups ?? 0, count: o.count ?? 0 }))),
        table(str(o.owner), ['console.triage.code', 'console.fleet.hospital', 'console.triage.path', 'console.fleet.dialect',
                             'console.fleet.version', 'console.triage.count', 'console.triage.last', 'console.triage.trace'],
          (o.errors ?? []).map((e: any) => h('tr', {},
            h('td', {}, str(e.code), h('span', { class: 'sub' }, str(e.class), e.rule ? ` · ${e.rule}` : '')),
            h('td', {}, str(e.hospitalId)), h('td', {}, str(e.path)), h('td', {}, str(e.dialect)), h('td', {}, str(e.version)),
            h('td', {}, str(e.count)), h('td', {}, when(e.lastSeen)),
            h('td', {}, e.sampleTraceId ? link(`/console/trace/${encodeURIComponent(e.sampleTraceId)}`, t('console.triage.open_trace')) : '—'))))))
        : h('p', { class: 'note' }, t('console.triage.none')),
      r.body.truncated ? h('p', { class: 'note' }, t('console.triage.truncated')) : null);
  };
  since.addEventListener('change', () => { load(); });
  load();
  return [h('h1', {}, t('console.nav.triage')),
    h('div', { class: 'field narrow' }, h('label', { for: 'triage-since' }, t('console.triage.since')), since), box];
}

// ---- rollouts ---------------------------------------------------------------------------
const finalRollout = (s: string) => s === 'halted' || s === 'aborted' || s === 'done';
function rolloutTone(s: string): string { return s === 'running' || s === 'done' ? 'ok' : s === 'paused' ? 'wait' : 'bad'; }
function rolloutProgress(r: any): HTMLElement {
  const total = Number(r.totals?.size ?? 0);
  const done = Number(r.totals?.succeeded ?? 0);
  return h('span', { class: 'progress' },
    h('progress', { max: Math.max(total, 1), value: done, 'aria-label': t('console.rollout.progress_of', { id: r.id }) }),
    ' ', t('console.rollout.progress', { done, total, wave: r.currentWave ?? 0, waves: (r.waves ?? []).length }));
}

function rolloutsScreen(): Child {
  const box = h('section', { 'aria-live': 'polite', id: 'rollouts' }, loading());
  const load = async (): Promise<boolean> => {
    const r = await api('GET', '/api/v1/rollouts?limit=50');
    if (r.status !== 200) { replace(box, answer(r, 'console.nav.rollouts')); return false; }
    const list: any[] = r.body.rollouts ?? [];
    replace(box, list.length ? table(t('console.nav.rollouts'),
      ['console.rollout.id', 'console.rollout.release', 'console.rollout.state', 'console.rollout.progress_h',
       'console.rollout.by', 'console.rollout.created'],
      list.map((x) => h('tr', { 'data-rollout': x.id, 'data-state': x.state },
        h('td', {}, link(`/console/rollouts/${encodeURIComponent(x.id)}`, str(x.id))),
        h('td', {}, str(x.release)),
        h('td', {}, badge(rolloutTone(x.state), stateText('rollout', x.state), x.state),
          x.haltReason ? h('span', { class: 'sub' }, str(x.haltReason)) : null),
        h('td', {}, rolloutProgress(x)), h('td', {}, str(x.createdBy)), h('td', {}, when(x.createdMs)))))
      : h('p', { class: 'note' }, t('console.rollout.none')));
    return list.some((x) => !finalRollout(x.state));
  };
  load().then((more) => { if (more) poll(3000, load); });
  return [h('h1', {}, t('console.nav.rollouts')), box];
}

function rolloutScreen(id: string): Child {
  const box = h('section', { 'aria-live': 'polite', id: 'rollout' }, loading());
  const msg = h('div', { 'aria-live': 'polite', id: 'rollout-msg' });
  const act = async (action: string, button: HTMLButtonElement) => {
    if (action === 'abort' && !window.confirm(t('console.rollout.abort_confirm', { id }))) return;
    button.disabled = true;
    const r = await api('POST', `/api/v1/rollouts/${encodeURIComponent(id)}/${action}`);
    if (r.status !== 200) { button.disabled = false; return replace(msg, problem(r.body, r.status)); }
    replace(msg, h('p', { class: 'note', role: 'status' }, t(`console.rollout.${action}_done`)));
    show(r.body);
  };
  const show = (x: any) => {
    const actions: Child[] = [];
    if (mayAct() && !finalRollout(x.state)) {
      const b = (action: string, cls: string) => {
        const el = h('button', { type: 'button', class: cls, id: `rollout-${action}`, 'data-action': action }, t(`console.rollout.${action}`));
        el.addEventListener('click', () => act(action, el));
        return el;
      };
      if (x.state === 'running') actions.push(b('pause', 'secondary'));
      if (x.state === 'paused') actions.push(b('resume', ''));
      actions.push(b('abort', 'danger'));
    }
    const targets = (list: any[], key: string) => list?.length ? [h('h2', {}, t(key, { n: list.length })),
      h('ul', { class: 'plain' }, list.map((f: any) => h('li', {}, h('strong', {}, str(f.hospitalId)), ': ', str(f.reason),
        Array.isArray(f.paramsProblems) && f.paramsProblems.length ? h('span', { class: 'sub' }, f.paramsProblems.map(str).join('; ')) : null)))] : null;
    replace(box,
      h('dl', { class: 'facts' },
        h('dt', {}, t('console.rollout.release')), h('dd', {}, str(x.release)),
        h('dt', {}, t('console.rollout.state')), h('dd', { id: 'rollout-state' }, badge(rolloutTone(x.state), stateText('rollout', x.state), x.state)),
        h('dt', {}, t('console.rollout.progress_h')), h('dd', {}, rolloutProgress(x)),
        h('dt', {}, t('console.rollout.sent')), h('dd', {}, str(x.sent ?? 0)),
        h('dt', {}, t('console.rollout.by')), h('dd', {}, str(x.createdBy)),
        h('dt', {}, t('console.rollout.created')), h('dd', {}, when(x.createdMs)),
        x.haltReason ? [h('dt', {}, t('console.rollout.halt_reason')), h('dd', { id: 'halt-reason', class: 'detail' }, str(x.haltReason))] : null,
        x.supersededBy ? [h('dt', {}, t('console.rollout.superseded')), h('dd', {}, link(`/console/rollouts/${encodeURIComponent(x.supersededBy)}`, str(x.supersededBy)))] : null),
      actions.length ? h('div', { class: 'actions', id: 'rollout-actions' }, actions) : null,
      table(t('console.rollout.waves'),
        ['console.rollout.wave', 'console.rollout.size', 'console.rollout.succeeded', 'console.rollout.failed',
         'console.rollout.held', 'console.rollout.refused', 'console.rollout.installing', 'console.rollout.pending'],
        (x.waves ?? []).map((w: any) => h('tr', { 'data-wave': w.wave },
          h('td', {}, t('console.rollout.wave_n', { n: w.wave, percent: w.percent }), w.started ? null : h('span', { class: 'sub' }, t('console.rollout.not_started'))),
          h('td', {}, str(w.size)), h('td', {}, str(w.succeeded)), h('td', {}, str(w.failed)), h('td', {}, str(w.held)),
          h('td', {}, str(w.refused)), h('td', {}, str((w.installing ?? 0) + (w.checking ?? 0))), h('td', {}, str(w.pending))))),
      targets(x.failed, 'console.rollout.failed_list'), targets(x.held, 'console.rollout.held_list'),
      targets(x.refused, 'console.rollout.refused_list'));
  };
  const load = async (): Promise<boolean> => {
    const r = await api('GET', `/api/v1/rollouts/${encodeURIComponent(id)}`);
    if (r.status !== 200) { replace(box, answer(r, 'console.nav.rollouts')); return false; }
    show(r.body);
    return !finalRollout(r.body.state);
  };
  load().then((more) => { if (more) poll(3000, load); });
  return [h('h1', {}, t('console.rollout.title', { id })), box, msg, link('/console/rollouts', t('console.rollout.all'))];
}

// ---- ledgers ----------------------------------------------------------------------------
function ledgersScreen(): Child {
  const box = h('section', { 'aria-live': 'polite', id: 'ledgers' }, loading());
  const load = async (): Promise<boolean> => {
    const [parts, doubt, manual] = await Promise.all([
      api('GET', '/api/v1/ledger/partitions'),
      api('GET', '/api/v1/ledger/transactions?state=in_doubt&limit=500'),
      api('GET', '/api/v1/ledger/transactions?state=in_doubt&manual=true&limit=500')]);
    if (parts.status !== 200) { replace(box, answer(parts, 'console.nav.ledgers')); return false; }
    const count = (r: any) => {
      const m = new Map<string, number>();
      for (const x of r.status === 200 ? r.body.transactions ?? [] : []) m.set(x.partition, (m.get(x.partition) ?? 0) + 1);
      return m;
    };
    const inDoubt = count(doubt), queued = count(manual);
    const map: Record<string, string[]> = parts.body.partitions ?? {};
    const names = [...new Set([...Object.keys(map), ...inDoubt.keys(), ...queued.keys()])].sort();
    const split = parts.body.split;
    const pr = split?.progress ?? {};
    const copied = Number(pr.copiedSeq ?? 0), of = Number(pr.sourceSeq ?? 0);
    const manualList: any[] = manual.status === 200 ? manual.body.transactions ?? [] : [];
    replace(box,
      h('p', { class: 'note' }, t('console.ledger.epoch', { epoch: parts.body.epoch ?? 0 })),
      table(t('console.ledger.caption'),
        ['console.ledger.partition', 'console.ledger.provinces', 'console.ledger.in_doubt', 'console.ledger.manual'],
        names.map((n) => h('tr', { 'data-partition': n },
          h('th', { scope: 'row' }, n), h('td', {}, (map[n] ?? []).join(', ') || '—'),
          h('td', { 'data-count': 'in_doubt' }, String(inDoubt.get(n) ?? 0)),
          h('td', { 'data-count': 'manual' }, String(queued.get(n) ?? 0))))),
      doubt.status !== 200 ? problem(doubt.body, doubt.status) : null,
      h('h2', {}, t('console.ledger.split')),
      split ? h('dl', { class: 'facts', id: 'split' },
        h('dt', {}, t('console.ledger.split_state')), h('dd', {}, badge(split.state === 'running' ? 'wait' : split.state === 'aborted' ? 'bad' : 'ok', stateText('split', split.state), split.state)),
        h('dt', {}, t('console.ledger.split_what')), h('dd', {}, t('console.ledger.split_plan', { source: str(pr.source), targets: (pr.targets ?? []).join(', ') })),
        h('dt', {}, t('console.ledger.split_step')), h('dd', {}, `${str(pr.phase)} · ${str(pr.step)}`),
        h('dt', {}, t('console.ledger.split_copied')), h('dd', {},
          h('progress', { max: Math.max(of, 1), value: Math.min(copied, Math.max(of, 1)), 'aria-label': t('console.ledger.split_copied') }),
          ' ', t('console.ledger.split_copied_n', { copied, of, lag: pr.lag ?? of - copied, entries: pr.entriesCopied ?? 0 })),
        pr.freezeMs !== undefined ? [h('dt', {}, t('console.ledger.split_freeze')), h('dd', {}, t('console.ms', { n: pr.freezeMs }))] : null,
        pr.toEpoch ? [h('dt', {}, t('console.ledger.split_epochs')), h('dd', {}, `${pr.fromEpoch} → ${pr.toEpoch}`)] : null,
        pr.error ? [h('dt', {}, t('console.ledger.split_error')), h('dd', { class: 'detail' }, str(pr.error))] : null)
        : h('p', { class: 'note' }, t('console.ledger.no_split')),
      h('h2', {}, t('console.ledger.queue')),
      manualList.length ? table(t('console.ledger.queue'),
        ['console.ledger.tx', 'console.ledger.kind', 'console.fleet.hospital', 'console.ledger.amount', 'console.ledger.partition',
         'console.ledger.probes', 'console.ledger.since', ...(mayAct() ? ['console.ledger.resolve'] : [])],
        manualList.map((x) => h('tr', { 'data-tx': x.transactionId },
          h('td', {}, str(x.transactionId)), h('td', {}, str(x.kind)), h('td', {}, str(x.hospitalId)),
          h('td', {}, `${str(x.amount)} ${str(x.currency)}`), h('td', {}, str(x.partition)),
          h('td', {}, Array.isArray(x.probes) ? String(x.probes.length) : str(x.probes)), h('td', {}, when(x.updatedAt)),
          mayAct() ? resolveCell(String(x.transactionId)) : null)))
        : h('p', { class: 'note' }, t('console.ledger.queue_empty')));
    // Redrawn every 5 s only while nobody can be typing evidence into the queue's rows.
    return !manualList.length || !mayAct();
  };
  // An operator resolves a transaction of the manual queue by what the hospital says, with
  // the evidence (POST /api/v1/ledger/transactions/{id}/resolve, docs/ledger.md).
  const resolveCell = (id: string): HTMLElement => {
    const evidence = h('input', { id: `evidence-${id}`, maxlength: 500, autocomplete: 'off',
                                  'aria-label': t('console.ledger.evidence_for', { id }) });
    const out = h('span', { 'aria-live': 'polite' });
    const buttons = [true, false].map((committed) => h('button', { type: 'button', class: committed ? 'secondary' : 'danger',
      'data-committed': String(committed) }, t(committed ? 'console.ledger.committed' : 'console.ledger.not_committed')));
    buttons.forEach((b, i) => b.addEventListener('click', async () => {
      if (!evidence.value.trim()) return replace(out, h('span', { class: 'error-text', role: 'alert' }, t('console.ledger.evidence_needed')));
      buttons.forEach((x) => { x.disabled = true; });
      const r = await api('POST', `/api/v1/ledger/transactions/${encodeURIComponent(id)}/resolve`,
                          { committed: i === 0, evidence: evidence.value.trim() });
      if (r.status !== 200) { buttons.forEach((x) => { x.disabled = false; }); return replace(out, problem(r.body, r.status)); }
      // "Not done" settles once the agent has revoked the request (docs/ledger.md).
      replace(out, h('span', { role: 'status' }, r.body?.revoking ? t('console.ledger.revoking')
                                                                   : t('console.ledger.resolved', { state: str(r.body?.state) })));
    }));
    return h('td', { class: 'resolve' }, evidence, h('div', { class: 'actions' }, buttons), out);
  };
  load().then((more) => { if (more) poll(5000, load); });
  return [h('h1', {}, t('console.nav.ledgers')), box];
}

// The read replicas' lag, as the fleet API reports it (publicPartition: each replica's
// position in the change stream, heard from when it last pulled; docs/public-partition.md).
function replicas(pp: any): Child {
  if (!pp || typeof pp !== 'object') return null;
  const list: any[] = Array.isArray(pp.replicas) ? pp.replicas : [];
  return [h('h2', {}, t('console.replica.title')),
    h('p', { class: 'note' }, t('console.replica.stream', { pos: str(pp.streamPosition), gaps: str(pp.gaps ?? 0) })),
    list.length ? table(t('console.replica.title'),
      ['console.replica.name', 'console.replica.entries', 'console.replica.position', 'console.replica.heard'],
      list.map((r) => h('tr', { 'data-replica': r.name },
        h('td', {}, str(r.name)), h('td', {}, badge(Number(r.lagEntries) > 0 ? 'wait' : 'ok', str(r.lagEntries))),
        h('td', {}, `${str(r.position)} / ${str(pp.streamPosition)}`), h('td', {}, ago(r.heardAt) || '—'))))
      : h('p', { class: 'note' }, t('console.replica.none'))];
}

// ---- audit log --------------------------------------------------------------------------
function auditScreen(): Child {
  const who = h('input', { id: 'audit-who', maxlength: 128, autocomplete: 'off' });
  const route = h('input', { id: 'audit-route', maxlength: 64, autocomplete: 'off' });
  const box = h('section', { 'aria-live': 'polite', id: 'audit' }, loading());
  const older = h('button', { type: 'button', class: 'secondary', hidden: true }, t('console.audit.older'));
  let entries: any[] = [];
  let next = '';
  const load = async (cursor = '') => {
    const q = new URLSearchParams();
    if (cursor) q.set('cursor', cursor);
    if (who.value.trim()) q.set('who', who.value.trim());
    if (route.value.trim()) q.set('route', route.value.trim());
    const r = await api('GET', `/api/v1/audit?${q}`);
    if (r.status !== 200) { older.hidden = true; return replace(box, answer(r, 'console.nav.audit')); }
    entries = cursor ? [...entries, ...(r.body.entries ?? [])] : (r.body.entries ?? []);
    next = r.body.next_cursor ?? '';
    older.hidden = !next;
    replace(box, entries.length ? table(t('console.nav.audit'),
      ['console.audit.at', 'console.audit.who', 'console.audit.role', 'console.audit.what', 'console.audit.status', 'console.audit.from'],
      entries.map((e) => h('tr', { 'data-seq': e.seq },
        h('td', {}, when(e.atMs)), h('td', {}, str(e.who)), h('td', {}, roleName(str(e.role))),
        h('td', {}, h('code', {}, `${str(e.method)} ${str(e.path)}`), h('span', { class: 'sub' }, str(e.route))),
        h('td', {}, str(e.status), e.code ? h('span', { class: 'sub' }, str(e.code)) : null), h('td', {}, str(e.from)))))
      : h('p', { class: 'note' }, t('console.audit.none')));
  };
  const form = h('form', { class: 'filters', role: 'search', onsubmit: (e: Event) => { e.preventDefault(); load(); } },
    h('div', { class: 'field' }, h('label', { for: 'audit-who' }, t('console.audit.who')), who),
    h('div', { class: 'field' }, h('label', { for: 'audit-route' }, t('console.audit.route')), route),
    h('button', { type: 'submit' }, t('console.audit.filter')));
  older.addEventListener('click', () => { if (next) load(next); });
  load();
  return [h('h1', {}, t('console.nav.audit')), form, box, older];
}

// ---- the trace of one request -------------------------------------------------------------
function traceScreen(id: string): Child {
  const input = h('input', { id: 'trace-id', maxlength: 32, autocomplete: 'off', value: id, spellcheck: 'false' });
  const msg = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'filters', role: 'search', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'trace-id' }, t('console.trace.id')), input),
    h('button', { type: 'submit' }, t('console.trace.open')), msg);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = input.value.trim().toLowerCase();
    if (!/^[0-9a-f]{32}$/.test(v)) return replace(msg, h('p', { class: 'error', role: 'alert' }, t('console.trace.bad_id')));
    go(`/console/trace/${v}`);
  });
  const box = h('section', { 'aria-live': 'polite', id: 'trace' }, id ? loading() : null);
  if (id) (async () => {
    const r = await api('GET', `/api/v1/traces/${encodeURIComponent(id)}`);
    if (r.status !== 200) return replace(box, answer(r, 'console.nav.trace'));
    const lines: any[] = r.body.lines ?? [];
    const t0 = lines.length ? Date.parse(lines[0].ts) : 0;
    const span = lines.length ? Math.max(1, Date.parse(lines[lines.length - 1].ts) - t0) : 1;
    const procs = [...new Set(lines.map((l) => str(l.proc)))];
    const skip = new Set(['ts', 'level', 'proc', 'event', 'trace_id', 'span_id']);
    replace(box,
      h('ul', { class: 'plain' }, (r.body.sources ?? []).map((s: any) => h('li', { 'data-source': s.process },
        h('strong', {}, str(s.process)), ': ',
        s.error ? h('span', { class: 'error-text' }, t('console.trace.source_error', { code: str(s.error.code) }), ' ', str(s.error.message))
                : t('console.trace.source_lines', { n: s.lines ?? 0 }), s.truncated ? t('console.trace.truncated') : ''))),
      lines.length ? h('ol', { class: 'timeline', 'aria-label': t('console.trace.timeline') }, lines.map((l) => {
        const at = Date.parse(l.ts) - t0;
        const lane = procs.indexOf(str(l.proc));
        const rest = Object.entries(l).filter(([k]) => !skip.has(k)).map(([k, v]) => `${k}=${str(v)}`).join('  ');
        return h('li', { class: `lane${lane % 6} ${l.level === 'error' ? 'err' : l.level === 'warn' ? 'warn' : ''}`, 'data-proc': str(l.proc) },
          h('span', { class: 'at' }, `+${isFinite(at) ? at : 0} ms`),
          h('span', { class: 'bar', 'aria-hidden': 'true' }, h('span', { class: 'mark', 'data-left': Math.round(100 * (isFinite(at) ? at : 0) / span) })),
          h('span', { class: 'proc' }, str(l.proc)), ' ', h('strong', {}, str(l.event)), ' ',
          h('span', { class: 'level' }, str(l.level)), rest ? h('span', { class: 'sub mono' }, rest) : null);
      })) : h('p', { class: 'note' }, t('console.trace.none')));
    // The marks' positions: a CSSOM property (the CSP allows no inline style attribute).
    for (const m of box.querySelectorAll<HTMLElement>('.mark')) m.style.left = `${m.dataset.left}%`;
  })();
  return [h('h1', {}, t('console.nav.trace')), form, box];
}

// ---- a ward: beds, their monitors, latest values and open alarms, live ---------------------
// GET /api/v1/vitals/beds?hospital=H, then the feed (GET /api/v1/vitals/feed, Server-Sent
// Events with the session cookie): vitals, alarm and monitor events merged into the beds.
// On an error the feed is closed and, 3 s later, the beds are read again and the feed
// reopened (it starts with every monitor's state). docs/vitals.md, docs/console.md.
const signOrder = ['heart_rate', 'spo2', 'resp_rate', 'nibp_sys', 'nibp_dia', 'nibp_mean', 'temperature'];
const prioRank: Record<string, number> = { high: 3, medium: 2, low: 1 };
const openAlarm = (a: any) => a && (a.state === 'active' || a.state === 'silenced');
function unitText(u: unknown): string {
  const s = str(u);
  return s === 'Cel' ? '°C' : s === 'mm[Hg]' ? 'mmHg' : s;
}
function signValue(v: unknown): string {
  const n = Number(v);
  return isFinite(n) ? String(Math.round(n * 10) / 10) : str(v);
}

function wardScreen(): Child {
  const want = new URLSearchParams(location.search).get('hospital') ?? '';
  const pick = h('select', { id: 'ward-hospital' });
  const status = h('p', { class: 'note', id: 'ward-live', role: 'status' });
  const box = h('section', { id: 'ward', 'aria-label': t('console.ward.beds') }, loading());
  const beds = new Map<string, any>();                 // bed -> the API's bed, merged with the feed
  const cards = new Map<string, { status: HTMLElement; values: HTMLElement; alarms: HTMLElement }>();
  let hospital = '';
  let source: EventSource | null = null;
  let retry: ReturnType<typeof setTimeout> | null = null;
  let stopped = false;
  const ticker = setInterval(() => { for (const b of beds.keys()) drawValues(b); }, 1000);
  stopPolling = () => {
    stopped = true;
    clearInterval(ticker);
    if (retry) clearTimeout(retry);
    source?.close();
  };

  const online = (b: any) => (b.monitors ?? []).length > 0 && (b.monitors ?? []).every((m: any) => m.online);
  const drawStatus = (bed: string) => {
    const b = beds.get(bed), c = cards.get(bed);
    if (!b || !c) return;
    const ms: any[] = b.monitors ?? [];
    const up = online(b);
    c.status.dataset.online = String(up);
    replace(c.status, ms.length ? ms.map((m) => h('span', { class: 'monitor', 'data-device': m.device, 'data-online': String(!!m.online) },
      badge(m.online ? 'ok' : 'bad', t(m.online ? 'console.ward.online' : 'console.ward.offline'), m.online ? 'online' : 'offline'),
      ' ', h('span', { class: 'muted' }, `${str(m.device)} · ${str(m.model)}`),
      !m.online && m.reason ? h('span', { class: 'sub reason' }, t('console.ward.why', { reason: has(`console.ward.reason.${m.reason}`) ? t(`console.ward.reason.${m.reason}`) : str(m.reason) })) : null))
      : badge('bad', t('console.ward.no_monitor'), 'offline'));
  };
  const drawValues = (bed: string) => {
    const b = beds.get(bed), c = cards.get(bed);
    if (!b || !c) return;
    const vs: any[] = [...(b.values ?? [])].sort((x, y) => {
      const i = signOrder.indexOf(x.name), j = signOrder.indexOf(y.name);
      return (i < 0 ? 99 : i) - (j < 0 ? 99 : j) || str(x.name).localeCompare(str(y.name));
    });
    replace(c.values, vs.length ? vs.map((v) => h('div', { class: 'sign', 'data-sign': v.name, 'data-observed': str(v.observedAt) },
      h('dt', {}, has(`console.ward.sign.${v.name}`) ? t(`console.ward.sign.${v.name}`) : str(v.name)),
      h('dd', {}, h('span', { class: 'value', 'data-value': str(v.value) }, signValue(v.value)), ' ',
        h('span', { class: 'unit' }, unitText(v.unit)), h('span', { class: 'sub age' }, ago(v.observedAt) || '—'))))
      : h('div', { class: 'wide' }, h('dd', { class: 'muted' }, t('console.ward.no_values'))));
  };
  const drawAlarms = (bed: string) => {
    const b = beds.get(bed), c = cards.get(bed);
    if (!b || !c) return;
    const list: any[] = [...(b.alarms ?? [])].filter(openAlarm).sort((x, y) =>
      (prioRank[y.priority] ?? 0) - (prioRank[x.priority] ?? 0) || Number(y.escalation ?? 0) - Number(x.escalation ?? 0) ||
      Number(x.raisedAt ?? 0) - Number(y.raisedAt ?? 0));
    replace(c.alarms, list.length ? h('ol', { class: 'alarms', 'aria-label': t('console.ward.alarms_of', { bed }) },
      list.map((a) => h('li', { class: `alarm p-${str(a.priority)}`, 'data-alarm': a.id, 'data-priority': str(a.priority), 'data-state': str(a.state) },
        badge(a.priority === 'high' ? 'bad' : a.priority === 'medium' ? 'wait' : 'done',
          has(`console.ward.priority.${a.priority}`) ? t(`console.ward.priority.${a.priority}`) : str(a.priority)),
        ' ', h('strong', {}, str(a.text)),
        h('span', { class: 'sub' }, t(a.technical ? 'console.ward.technical' : 'console.ward.physiological'), ' · ',
          t('console.ward.raised', { ago: ago(a.raisedAt) || when(a.raisedAt) }),
          Number(a.escalation) > 0 ? [' · ', t('console.ward.escalated', { n: a.escalation })] : null,
          a.state === 'silenced' ? [' · ', t('console.ward.silenced_until', { at: when(a.silencedUntil) })] : null),
        mayAct() ? alarmActions(a) : null)))
      : h('p', { class: 'muted' }, t('console.ward.no_alarms')));
  };
  // Acknowledge, or silence for N seconds (operators and admins; the API audits both).
  const alarmActions = (a: any): HTMLElement => {
    const id = String(a.id);
    const secs = h('input', { id: `silence-${id}`, type: 'number', min: 1, max: 3600, value: 120, inputmode: 'numeric',
                              'aria-label': t('console.ward.silence_seconds_for', { text: str(a.text), bed: str(a.bed) }) });
    const out = h('span', { 'aria-live': 'polite' });
    const ack = h('button', { type: 'button', class: 'secondary', 'data-action': 'acknowledge',
                              'aria-label': t('console.ward.ack_for', { text: str(a.text), bed: str(a.bed) }) }, t('console.ward.ack'));
    const sil = h('button', { type: 'button', class: 'secondary', 'data-action': 'silence',
                              'aria-label': t('console.ward.silence_for', { text: str(a.text), bed: str(a.bed) }) }, t('console.ward.silence'));
    const send = async (what: 'acknowledge' | 'silence') => {
      const n = Number(secs.value);
      if (what === 'silence' && !(Number.isInteger(n) && n >= 1 && n <= 3600))
        return replace(out, h('span', { class: 'error-text', role: 'alert' }, t('console.ward.bad_seconds')));
      ack.disabled = sil.disabled = true;
      const r = await api('POST', `/api/v1/vitals/alarms/${encodeURIComponent(id)}/${what}`, what === 'silence' ? { seconds: n } : {});
      if (r.status !== 200) { ack.disabled = sil.disabled = false; return replace(out, problem(r.body, r.status)); }
      if (r.body && typeof r.body === 'object' && r.body.id !== undefined) mergeAlarm(r.body);
      else replace(out, h('span', { role: 'status' }, t(what === 'acknowledge' ? 'console.ward.acked' : 'console.ward.silenced')));
    };
    ack.addEventListener('click', () => { send('acknowledge'); });
    sil.addEventListener('click', () => { send('silence'); });
    return h('div', { class: 'actions' }, ack, h('span', { class: 'silence' }, secs, h('span', { class: 'muted', 'aria-hidden': 'true' }, t('console.ward.seconds')), sil), out);
  };
  const mergeAlarm = (a: any) => {
    const b = beds.get(str(a.bed));
    if (!b) return;
    const list: any[] = b.alarms ?? (b.alarms = []);
    const i = list.findIndex((x) => x.id === a.id);
    // Never shown lower than before: the device's priority is kept (the store refuses a downgrade too).
    if (i >= 0 && (prioRank[list[i].priority] ?? 0) > (prioRank[a.priority] ?? 0)) a = { ...a, priority: list[i].priority };
    if (i >= 0) list[i] = a; else list.push(a);
    b.alarms = list.filter(openAlarm);
    drawAlarms(str(a.bed));
  };

  const card = (b: any): HTMLElement => {
    const c = { status: h('div', { class: 'bed-status' }), values: h('dl', { class: 'signs' }), alarms: h('div', { class: 'bed-alarms' }) };
    cards.set(b.bed, c);
    const el = h('article', { class: 'bed', 'data-bed': b.bed, 'data-ward': str(b.ward), 'aria-labelledby': `bed-${b.bed}` },
      h('h3', { id: `bed-${b.bed}` }, t('console.ward.bed_title', { ward: str(b.ward), bed: str(b.bed) })),
      c.status, c.values, h('h4', {}, t('console.ward.open_alarms')), c.alarms);
    drawStatus(b.bed); drawValues(b.bed); drawAlarms(b.bed);
    return el;
  };
  const drawAll = () => {
    cards.clear();
    const list = [...beds.values()].sort((x, y) => str(x.ward).localeCompare(str(y.ward)) || str(x.bed).localeCompare(str(y.bed)));
    if (!list.length) return replace(box, h('p', { class: 'note' }, t('console.ward.none', { hospital })));
    const wards = [...new Set(list.map((b) => str(b.ward)))];
    replace(box, wards.map((w) => [h('h2', {}, t('console.ward.ward', { ward: w || '—' })),
      h('div', { class: 'beds' }, list.filter((b) => str(b.ward) === w).map(card))]));
  };
  // While reconnecting, a failed read keeps the cards (their values ageing on screen) and the
  // status saying so; on a first load it is said in place of the beds.
  let reconnecting = false;
  const readBeds = async (hid: string): Promise<any[] | null> => {
    const r = await api('GET', `/api/v1/vitals/beds?hospital=${encodeURIComponent(hid)}`);
    if (r.status !== 200) { if (!reconnecting || !beds.size) replace(box, answer(r, 'console.nav.wards')); return null; }
    return r.body.beds ?? [];
  };
  const onEvent = (type: string, e: MessageEvent) => {
    let d: any;
    try { d = JSON.parse(e.data); } catch { return; }
    if (type === 'alarm') return mergeAlarm(d);
    const bed = str(d.bed);
    if (!beds.has(bed)) { if (type === 'monitor' || type === 'vitals') { beds.set(bed, { bed, ward: d.ward, monitors: [], values: [], alarms: [] }); drawAll(); } }
    const b = beds.get(bed);
    if (type === 'monitor') {
      const ms: any[] = b.monitors ?? (b.monitors = []);
      const i = ms.findIndex((m) => m.device === d.device);
      if (i >= 0) ms[i] = d; else ms.push(d);
      drawStatus(bed);
    } else if (type === 'vitals') {
      const vs: any[] = b.values ?? (b.values = []);
      for (const s of d.samples ?? []) {
        const i = vs.findIndex((v) => v.name === s.name);
        if (i < 0) vs.push(s);
        else if (Number(s.observedAt) >= Number(vs[i].observedAt)) vs[i] = s;  // only forward in time
      }
      drawValues(bed);
    }
  };
  // Every 10 s the beds are read again and merged in, besides the feed: a feed event can be
  // missing on this instance (docs/console.md "Not built yet": with two control planes on one
  // vitals store, only the instance whose insert wins announces a batch's samples and alarms).
  const key = (list: any[]) => list.filter(openAlarm).map((a) => `${a.id}:${a.state}:${a.priority}:${a.escalation}`).sort().join(',');
  const resync = async () => {
    const r = await api('GET', `/api/v1/vitals/beds?hospital=${encodeURIComponent(hospital)}`);
    if (stopped || r.status !== 200) return;  // the feed's own error path reconnects
    const list: any[] = r.body.beds ?? [];
    if (list.some((x) => !beds.has(x.bed))) { for (const x of list) if (!beds.has(x.bed)) beds.set(x.bed, x); drawAll(); }
    for (const x of list) {
      const b = beds.get(x.bed);
      const old: any[] = b.alarms ?? [];
      const fresh: any[] = (x.alarms ?? []).map((a: any) => {
        const was = old.find((o) => o.id === a.id);
        return was && (prioRank[was.priority] ?? 0) > (prioRank[a.priority] ?? 0) ? { ...a, priority: was.priority } : a;
      });
      if (key(fresh) !== key(old)) { b.alarms = fresh; drawAlarms(x.bed); }
      b.monitors = x.monitors ?? [];
      drawStatus(x.bed);
      const vs: any[] = b.values ?? (b.values = []);
      for (const s of x.values ?? []) {
        const i = vs.findIndex((v) => v.name === s.name);
        if (i < 0) vs.push(s); else if (Number(s.observedAt) > Number(vs[i].observedAt)) vs[i] = s;
      }
    }
  };
  const resyncer = setInterval(() => { if (source && source.readyState === EventSource.OPEN) resync(); }, 10000);
  const stopWard = stopPolling;
  stopPolling = () => { clearInterval(resyncer); stopWard?.(); };
  const connect = async () => {
    if (stopped) return;
    const list = await readBeds(hospital);
    if (stopped || list === null) { if (list === null && !stopped) retry = setTimeout(connect, 5000); return; }
    beds.clear();
    for (const b of list) beds.set(b.bed, b);
    drawAll();
    const es = new EventSource(`/api/v1/vitals/feed?hospital=${encodeURIComponent(hospital)}`, { withCredentials: true });
    source = es;
    for (const type of ['vitals', 'alarm', 'monitor']) es.addEventListener(type, (e) => onEvent(type, e as MessageEvent));
    es.onopen = () => { reconnecting = false; status.dataset.state = 'live'; replace(status, t('console.ward.live')); };
    es.onerror = () => {
      es.close();
      if (stopped || source !== es) return;
      reconnecting = true;
      status.dataset.state = 'reconnecting';
      replace(status, t('console.ward.reconnecting'));
      retry = setTimeout(connect, 3000);
    };
  };
  const open = (hid: string) => {
    hospital = hid;
    pick.value = hid;
    history.replaceState(null, '', `/console/wards?hospital=${encodeURIComponent(hid)}`);
    source?.close(); source = null;
    if (retry) clearTimeout(retry);
    reconnecting = false;
    beds.clear();
    replace(box, loading());
    connect();
  };
  pick.addEventListener('change', () => open(pick.value));
  (async () => {
    const r = await api('GET', '/api/v1/fleet?limit=500');
    if (r.status !== 200) return replace(box, answer(r, 'console.nav.fleet'));
    const ids: string[] = (r.body.hospitals ?? []).map((x: any) => String(x.hospitalId)).sort();
    replace(pick, ids.map((id) => h('option', { value: id }, id)));
    if (!ids.length) return replace(box, h('p', { class: 'note' }, t('console.fleet.none')));
    if (ids.includes(want)) return open(want);
    for (const id of ids) {  // the first hospital with beds
      const list = await readBeds(id);
      if (stopped) return;
      if (list && list.length) return open(id);
    }
    open(ids[0]);
  })();
  return [h('h1', {}, t('console.nav.wards')),
    h('div', { class: 'field narrow' }, h('label', { for: 'ward-hospital' }, t('console.fleet.hospital')), pick),
    status, box];
}

// ---- the router -------------------------------------------------------------------------
function route(): Child {
  const p = location.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (!session || p[1] === 'signin') {
    if (!session && p[1] !== 'signin') history.replaceState(null, '', '/console/signin?next=' + encodeURIComponent(location.pathname));
    return signInScreen();
  }
  switch (p[1]) {
    case 'health': return healthScreen();
    case 'wards': return wardScreen();
    case 'alerts': return alertsScreen();
    case 'triage': return triageScreen();
    case 'rollouts': return p.length === 3 ? rolloutScreen(p[2]) : rolloutsScreen();
    case 'ledgers': return ledgersScreen();
    case 'audit': return auditScreen();
    case 'trace': return traceScreen(p[2] ?? '');
    default:
      if (location.pathname !== '/console/fleet') history.replaceState(null, '', '/console/fleet');
      return fleetScreen();
  }
}

export function renderConsole(): void {
  stopPolling?.();
  stopPolling = null;
  const body = route();
  document.title = t('console.name');
  document.body.className = 'console';
  replace(document.body, h('a', { class: 'skip', href: '#main' }, t('nav.skip')), header(), main);
  replace(main, body);
}

export async function startConsole(): Promise<void> {
  await loadConfig();
  const r = await api('GET', '/api/v1/console/session');
  if (r.status === 200 && r.body?.role) {
    session = r.body;
    setCsrfToken(String(r.body.csrf_token ?? ''));
  }
  renderConsole();
}
