// The hisgate patient portal: one page, screens by path (the control plane answers
// index.html for every path without a file extension). docs/portal.md.
import './styles.css';
import { h, replace, Child } from './dom';
import { t, setLang, currentLang, has } from './i18n';
import { api, search, loadConfig, payAtCheckout, newKey, repeat, onUnauthorized } from './api';
import { validPhone, validIdCard, refusedRule } from './checks';

// The operator console (console.ts, docs/console.md "Pages") is a chunk of its own, loaded
// only on /console paths: a patient's first load carries none of it.
const isConsolePath = () => location.pathname === '/console' || location.pathname.startsWith('/console/');
let consoleModule: Promise<typeof import('./console')> | null = null;
const loadConsole = () => (consoleModule ??= import('./console'));

interface Me { patient_id: string; real_name_verified: boolean; }
let me: Me | null = null;
const main = h('main', { id: 'main', tabindex: '-1' });
// What the screen polls (a report list polls one task per hospital on its way): stopped on every render.
let pollers: (() => void)[] = [];
function stopPolling(): void { pollers.forEach((stop) => stop()); pollers = []; }
// Why the patient is signed out, said once on the sign-in screen (a message key, or '').
let signedOutBecause = '';

// ---- navigation -------------------------------------------------------------------------
function go(path: string): void {
  history.pushState(null, '', path);
  render();
}
function link(path: string, ...children: Child[]): HTMLAnchorElement {
  return h('a', { href: path, onclick: (e: Event) => { e.preventDefault(); go(path); } }, ...children);
}
window.addEventListener('popstate', () => render());

// Polls while signed in: a session that ended stops every poll.
function poll(every: number, step: () => Promise<boolean>): void {
  if (me) pollers.push(repeat(every, async () => !!me && step()));
}

// The signed-out state: no patient, the sign-in screen saying why (`because`, a message
// key), back to `next` once signed in again.
function toSignedOut(because: string, next?: string): void {
  me = null;
  signedOutBecause = because;
  history.pushState(null, '', '/signin' + (next ? '?next=' + encodeURIComponent(next) : ''));
  render();
}
// A 401 while signed in: the session ended elsewhere (signed out everywhere from another
// device, or expired). The console has its own (console.ts).
onUnauthorized(() => {
  if (me && !isConsolePath()) toSignedOut('signedout.elsewhere', location.pathname);
});

// ---- shared pieces ----------------------------------------------------------------------
function header(): HTMLElement {
  return h('header', {},
    h('div', { class: 'bar' },
      link('/', h('span', { class: 'brand' }, t('app.name'))),
      h('button', { type: 'button', class: 'lang', lang: currentLang() === 'en' ? 'zh-CN' : 'en',
                    onclick: () => { setLang(currentLang() === 'en' ? 'zh-CN' : 'en'); render(); } },
        t('lang.switch'))),
    h('nav', { 'aria-label': t('nav.label') },
      link('/search', t('nav.search')), link('/bookings', t('nav.bookings')), link('/reports', t('nav.reports')),
      me ? link('/account', t('nav.account')) : null,
      me ? h('button', { type: 'button', class: 'linkish', onclick: signOut }, t('nav.signout'))
         : link('/signin', t('nav.signin'))));
}

// A refusal by one of the hospital's appointment rules: which rule and what to do, in the
// patient's words; `message` is the hospital's own text, shown as text. `next`: where the
// real-name step returns to.
function ruleRefusal(rule: string, message: unknown, next: string): HTMLElement {
  const known = has(`rule.${rule}.what`);
  return h('div', { class: 'refusal', role: 'alert' },
    h('h2', {}, t('refusal.title')),
    h('p', {}, h('strong', {}, t('refusal.rule')), ' ', known ? t(`rule.${rule}.what`) : rule),
    h('p', {}, h('strong', {}, t('refusal.todo')), ' ', known ? t(`rule.${rule}.todo`) : t('refusal.todo_other')),
    message ? h('p', { class: 'detail' }, t('refusal.hospital_says'), ' ', String(message)) : null,
    rule === 'real_name_required' ? link('/real-name?next=' + encodeURIComponent(next), t('realname.go')) : null);
}

function problem(body: any): HTMLElement {
  const code = body && typeof body.code === 'string' ? body.code : 'unknown';
  const rule = refusedRule(code);
  if (rule) return ruleRefusal(rule, body.message, location.pathname);
  const key = `error.${code}`;
  return h('p', { class: 'error', role: 'alert' }, has(key) ? t(key) : t('error.generic', { code }));
}

// Hospital names by id, from the replicas (a transaction names only the id).
const hospitalNames = new Map<string, string>();
let hospitalsAsked: Promise<void> | null = null;
function loadHospitalNames(): Promise<void> {
  hospitalsAsked ??= search('hospitals', { limit: '100' }).then((r) => {
    for (const x of r.body?.items ?? []) if (typeof x.name === 'string') hospitalNames.set(x.hospitalId, x.name);
  }).catch(() => { hospitalsAsked = null; });
  return hospitalsAsked;
}
function hospitalName(id: string): string { return hospitalNames.get(id) ?? id; }

function money(amount: string): string { return t('money.yuan', { amount }); }
function halfText(half: string): string { return half === 'AM' ? t('half.AM') : half === 'PM' ? t('half.PM') : t('half.day'); }

// A transaction's state in the patient's words; IN_DOUBT is "confirming", never failed. A
// booking the hospital refused is VOIDED once its slot is released: with its refusal at hand
// (one transaction's page) it reads as refused, not as cancelled.
function stateWords(tx: any): string {
  const state = tx.state === 'VOIDED' && tx.refusal ? 'REJECTED' : tx.state;
  const specific = `state.${tx.kind}.${state}`;
  return has(specific) ? t(specific) : has(`state.${state}`) ? t(`state.${state}`) : String(state);
}
function stateBadge(tx: any): HTMLElement {
  const tone = tx.state === 'POSTED' || tx.state === 'CONFIRMED' ? 'ok'
    : tx.state === 'IN_DOUBT' || tx.state === 'DISPATCHED' || tx.state === 'HELD' || tx.state === 'CREATED' ? 'wait' : 'done';
  return h('span', { class: `badge ${tone}`, 'data-state': tx.state }, stateWords(tx));
}
const settled = (tx: any) => ['POSTED', 'VOIDED', 'REFUNDED'].includes(tx.state) ||
  (tx.state === 'REJECTED' && tx.kind !== 'payment');

function needSignIn(): boolean {
  if (me) return false;
  history.replaceState(null, '', '/signin?next=' + encodeURIComponent(location.pathname));
  return true;
}

// ---- sign in ----------------------------------------------------------------------------
function signInScreen(): Child {
  const next = new URLSearchParams(location.search).get('next') || '/search';
  const msg = h('div', { 'aria-live': 'polite' });
  const why = signedOutBecause ? h('p', { class: 'note', role: 'status', id: 'signed-out' }, t(signedOutBecause)) : null;
  signedOutBecause = '';
  const phone = h('input', { id: 'phone', type: 'tel', inputmode: 'tel', autocomplete: 'tel', maxlength: 16, required: true });
  const code = h('input', { id: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 8, required: true });
  const codeRow = h('div', { class: 'field', hidden: true }, h('label', { for: 'code' }, t('signin.code')), code);
  const send = h('button', { type: 'button', class: 'secondary' }, t('signin.send'));
  send.addEventListener('click', async () => {
    if (!validPhone(phone.value)) return replace(msg, h('p', { class: 'error', role: 'alert' }, t('signin.bad_phone')));
    send.disabled = true;
    const r = await api('POST', '/api/v1/auth/code', { phone: phone.value.replace(/[\s-]/g, ''), lang: currentLang() });
    if (r.status !== 202) { send.disabled = false; return replace(msg, problem(r.body)); }
    codeRow.hidden = false;
    code.focus();
    replace(msg, h('p', { class: 'note' }, t('signin.sent', { s: r.body?.retry_after_s ?? 60 })));
    setTimeout(() => { send.disabled = false; }, 1000 * Number(r.body?.retry_after_s ?? 60));
  });
  const form = h('form', { novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'phone' }, t('signin.phone')), phone, send),
    codeRow, msg,
    h('button', { type: 'submit' }, t('signin.submit')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const r = await api('POST', '/api/v1/auth/verify', { phone: phone.value.replace(/[\s-]/g, ''), code: code.value.trim() });
    if (r.status !== 200) return replace(msg, problem(r.body));
    me = { patient_id: r.body.patient_id, real_name_verified: !!r.body.real_name_verified };
    go(next);
  });
  return [h('h1', {}, t('signin.title')), why, form];
}

async function signOut(): Promise<void> {
  await api('POST', '/api/v1/auth/logout', {});
  me = null;
  go('/');
}

function realNameScreen(): Child {
  if (needSignIn()) return signInScreen();
  const next = new URLSearchParams(location.search).get('next') || '/bookings';
  const msg = h('div', { 'aria-live': 'polite' });
  const name = h('input', { id: 'rn-name', autocomplete: 'name', maxlength: 32, required: true });
  const id = h('input', { id: 'rn-id', autocomplete: 'off', maxlength: 18, required: true });
  const form = h('form', { novalidate: true },
    h('p', {}, t('realname.why')),
    h('div', { class: 'field' }, h('label', { for: 'rn-name' }, t('realname.name')), name),
    h('div', { class: 'field' }, h('label', { for: 'rn-id' }, t('realname.id')), id),
    msg, h('button', { type: 'submit' }, t('realname.submit')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!name.value.trim()) return replace(msg, h('p', { class: 'error', role: 'alert' }, t('realname.bad_name')));
    if (!validIdCard(id.value)) return replace(msg, h('p', { class: 'error', role: 'alert' }, t('realname.bad_id')));
    const r = await api('POST', '/api/v1/me/real-name', { name: name.value.trim(), id_number: id.value.trim().toUpperCase() });
    if (r.status !== 200) return replace(msg, problem(r.body));
    if (me) me.real_name_verified = true;
    go(next);
  });
  return [h('h1', {}, t('realname.title')), form];
}

// ---- my account: sign out everywhere ----------------------------------------------------
function accountScreen(): Child {
  if (needSignIn()) return signInScreen();
  const facts = h('dl', { class: 'facts', id: 'account' });
  const show = (m: any) => replace(facts,
    h('dt', {}, t('account.phone')), h('dd', {}, String(m.phone_masked ?? '')),
    h('dt', {}, t('account.real_name')),
    h('dd', {}, m.real_name_verified ? t('account.verified') : link('/real-name?next=/account', t('realname.go'))));
  show(me);
  api('GET', '/api/v1/me').then((r) => { if (r.status === 200 && me) { me = { ...me, ...r.body }; show(me); } });
  // Two steps: the button asks, and only "yes" signs out (every device, this one too).
  const msg = h('div', { 'aria-live': 'polite' });
  const ask = h('button', { type: 'button', class: 'danger', id: 'everywhere' }, t('account.everywhere'));
  const yes = h('button', { type: 'button', class: 'danger', id: 'everywhere-yes' }, t('account.everywhere_yes'));
  const no = h('button', { type: 'button', class: 'secondary' }, t('account.everywhere_no'));
  const confirm = h('div', { class: 'confirm', role: 'group', 'aria-labelledby': 'everywhere-q', hidden: true },
    h('p', { id: 'everywhere-q' }, t('account.everywhere_confirm')), yes, ' ', no);
  ask.addEventListener('click', () => { ask.hidden = true; confirm.hidden = false; yes.focus(); });
  no.addEventListener('click', () => { confirm.hidden = true; ask.hidden = false; ask.focus(); });
  yes.addEventListener('click', async () => {
    yes.disabled = true;
    replace(msg, h('p', { class: 'note' }, t('common.sending')));
    const r = await api('DELETE', '/api/v1/me/sessions');
    if (r.status === 200) return toSignedOut('signedout.everywhere');
    yes.disabled = false;
    if (me) replace(msg, problem(r.body));  // a 401 has already signed this page out
  });
  return [h('h1', {}, t('account.title')), facts,
    h('h2', {}, t('account.sessions')), h('p', {}, t('account.everywhere_why')), ask, confirm, msg];
}

// ---- search -----------------------------------------------------------------------------
interface Picked { slot?: any; }
const picked: Picked = {};
// Time from a keystroke to its results on screen, for docs/benchmarks.md (tests read it).
const timings: number[] = ((window as any).__searchTimings = []);

function searchScreen(): Child {
  const today = new Date().toISOString().slice(0, 10);
  const q = h('input', { id: 'q', type: 'search', autocomplete: 'off', maxlength: 64, placeholder: t('search.q_hint') });
  const region = h('select', { id: 'region' }, h('option', { value: '' }, t('search.any')));
  const hospital = h('select', { id: 'hospital' }, h('option', { value: '' }, t('search.any')));
  const department = h('select', { id: 'department' }, h('option', { value: '' }, t('search.any')));
  const date = h('input', { id: 'date', type: 'date', value: today, min: today });
  const half = h('select', { id: 'half' }, h('option', { value: '' }, t('half.any')),
    h('option', { value: 'AM' }, t('half.AM')), h('option', { value: 'PM' }, t('half.PM')));
  const results = h('section', { id: 'results', 'aria-live': 'polite', 'aria-label': t('search.results') });
  const slots = h('section', { id: 'slots', 'aria-label': t('search.slots') });
  let hospitals: any[] = [];
  let controller: AbortController | null = null;
  let typedAt = 0;

  const fillHospitals = () => {
    const r = region.value;
    replace(hospital, h('option', { value: '' }, t('search.any')),
      hospitals.filter((x) => !r || x.region === r).map((x) => h('option', { value: x.hospitalId }, `${x.name} · ${x.city ?? ''}`)));
  };
  search('hospitals', { limit: '100' }).then((r) => {
    hospitals = r.body?.items ?? [];
    const regions = [...new Set(hospitals.map((x) => x.region).filter(Boolean))];
    replace(region, h('option', { value: '' }, t('search.any')), regions.map((x) => h('option', { value: x }, has(`region.${x}`) ? t(`region.${x}`) : x)));
    fillHospitals();
  });
  region.addEventListener('change', () => { fillHospitals(); run(); });
  hospital.addEventListener('change', async () => {
    replace(department, h('option', { value: '' }, t('search.any')));
    if (hospital.value) {
      const r = await search('departments', { hospital: hospital.value, limit: '100' });
      for (const d of r.body?.items ?? []) department.appendChild(h('option', { value: d.departmentId }, d.name));
    }
    run();
  });
  department.addEventListener('change', () => run());

  const run = async () => {
    controller?.abort();
    controller = new AbortController();
    const started = typedAt || performance.now();
    typedAt = 0;
    const text = q.value.trim();
    let r;
    try {
      r = await search('doctors', { q: text, hospital: hospital.value, department: department.value, limit: '20' },
                       controller.signal);
    } catch { return; }
    let items: any[] = r.body?.items ?? [];
    if (region.value && !hospital.value) {
      const inRegion = new Set(hospitals.filter((x) => x.region === region.value).map((x) => x.hospitalId));
      items = items.filter((d) => inRegion.has(d.hospitalId));
    }
    if (r.status !== 200) replace(results, problem(r.body));
    else if (!items.length) replace(results, h('p', { class: 'note' }, t('search.none')));
    else replace(results, h('ul', { class: 'cards' }, items.map((d) => h('li', {},
      h('button', { type: 'button', class: 'card', 'data-doctor': d.doctorId,
                    onclick: () => showSlots(d) },
        h('span', { class: 'name' }, d.name), ' ', h('span', { class: 'muted' }, d.title ?? ''),
        h('span', { class: 'sub' }, d.hospitalName ?? d.hospitalId), d.suspect ? h('span', { class: 'muted' }, t('search.suspect')) : null)))));
    // The text the list on screen answers. Typing replaces the list 100 ms after the last
    // key, so a tap just then can land where a card no longer is; the browser tests tap a
    // doctor only in the list of what they typed (web/tests/portal.test.mjs, pickSlot).
    results.setAttribute('data-q', text);
    if (q.value) timings.push(performance.now() - started);
  };
  let debounce = 0;
  q.addEventListener('input', () => {
    typedAt = performance.now();  // the last keystroke: what the patient waits from
    clearTimeout(debounce);
    debounce = window.setTimeout(run, 100);
  });

  let doctor: any = null;
  // Only the newest ask fills the list. Picking a doctor asks for the date on screen (today)
  // and picking a date right after asks again; the two answers can come back in either
  // order, and an older one shown last would put the wrong day's slots (or "no free slots")
  // under the date the patient chose.
  let slotsAsked: AbortController | null = null;
  const showSlots = async (d?: any) => {
    if (d) doctor = d;
    if (!doctor) return;
    slotsAsked?.abort();
    const asked = (slotsAsked = new AbortController());
    const day = date.value || today;
    replace(slots, h('p', { class: 'note' }, t('common.loading')));
    let r;
    try {
      r = await search('slots', { hospital: doctor.hospitalId, doctor: doctor.doctorId, from: day,
                                  to: day, half: half.value, free: 'true', limit: '50' }, asked.signal);
    } catch { return; }
    if (asked.signal.aborted) return;
    const items: any[] = r.body?.items ?? [];
    replace(slots, h('h2', {}, t('search.slots_of', { doctor: doctor.name, date: day })),
      r.status !== 200 ? problem(r.body) : !items.length ? h('p', { class: 'note' }, t('search.no_slots')) :
      h('ul', { class: 'cards' }, items.map((s) => h('li', {},
        h('button', { type: 'button', class: 'card', 'data-slot': s.slotId, 'data-date': s.date,
                      onclick: () => { picked.slot = s; go(`/book/${encodeURIComponent(s.hospitalId)}/${encodeURIComponent(s.slotId)}`); } },
          h('span', { class: 'name' }, s.start ? `${s.start}–${s.end}` : halfText(s.half)),
          ' ', h('span', { class: 'muted' }, halfText(s.half)),
          h('span', { class: 'sub' }, t('search.free', { n: s.free }), ' · ', money(((s.feeCents ?? 0) / 100).toFixed(2))))))));
  };
  date.addEventListener('change', () => showSlots());
  half.addEventListener('change', () => showSlots());

  setTimeout(run, 0);
  return [h('h1', {}, t('search.title')),
    h('form', { role: 'search', class: 'filters', onsubmit: (e: Event) => { e.preventDefault(); run(); } },
      h('div', { class: 'field wide' }, h('label', { for: 'q' }, t('search.q')), q),
      h('div', { class: 'field' }, h('label', { for: 'region' }, t('search.region')), region),
      h('div', { class: 'field' }, h('label', { for: 'hospital' }, t('search.hospital')), hospital),
      h('div', { class: 'field' }, h('label', { for: 'department' }, t('search.department')), department),
      h('div', { class: 'field' }, h('label', { for: 'date' }, t('search.date')), date),
      h('div', { class: 'field' }, h('label', { for: 'half' }, t('search.half')), half)),
    results, slots];
}

// ---- book and pay -----------------------------------------------------------------------
function bookScreen(hospitalId: string, slotId: string): Child {
  if (needSignIn()) return signInScreen();
  const s = picked.slot;
  if (!s || s.slotId !== slotId || s.hospitalId !== hospitalId)
    return [h('h1', {}, t('book.title')), h('p', {}, t('book.lost')), link('/search', t('nav.search'))];
  const msg = h('div', { 'aria-live': 'polite' });
  const key = newKey('book');  // one intent: a retry of this screen's button is the same booking
  const fee = ((s.feeCents ?? 0) / 100).toFixed(2);
  const button = h('button', { type: 'button' }, t('book.submit', { fee: money(fee) }));
  button.addEventListener('click', async () => {
    button.disabled = true;
    replace(msg, h('p', { class: 'note' }, t('common.sending')));
    const r = await api('POST', '/api/v1/bookings', { hospitalId, slotId, patientId: me!.patient_id,
                                                       prepay: { amount: fee, currency: 'CNY' } }, key);
    if (r.status !== 201) { button.disabled = false; return replace(msg, problem(r.body)); }
    const payUrl = r.body.payment?.checkout?.payUrl;
    if (payUrl) sessionStorage.setItem('pay:' + r.body.transactionId, payUrl);
    go(`/pay/${r.body.transactionId}`);
  });
  return [h('h1', {}, t('book.title')),
    h('dl', { class: 'facts' },
      h('dt', {}, t('book.hospital')), h('dd', {}, s.hospitalName ?? s.hospitalId),
      h('dt', {}, t('book.doctor')), h('dd', {}, s.doctorName ?? s.doctorId),
      h('dt', {}, t('book.when')), h('dd', {}, s.date, ' ', s.start ? `${s.start}–${s.end}` : halfText(s.half)),
      h('dt', {}, t('book.fee')), h('dd', {}, money(fee))),
    h('p', { class: 'note' }, t('book.how')), button, msg];
}

function payScreen(bookingId: string): Child {
  if (needSignIn()) return signInScreen();
  const payUrl = sessionStorage.getItem('pay:' + bookingId);
  const msg = h('div', { 'aria-live': 'polite' });
  const button = h('button', { type: 'button', id: 'pay' }, t('pay.submit'));
  button.addEventListener('click', async () => {
    button.disabled = true;
    if (!payUrl || !(await payAtCheckout(payUrl))) { button.disabled = false; return replace(msg, problem({ code: 'pay.failed' })); }
    sessionStorage.removeItem('pay:' + bookingId);
    go(`/bookings/${bookingId}`);
  });
  return [h('h1', {}, t('pay.title')), h('p', {}, t('pay.how')),
    payUrl ? button : h('p', {}, t('pay.gone')), msg, link(`/bookings/${bookingId}`, t('pay.later'))];
}

// ---- my bookings and payments -----------------------------------------------------------
function txLine(tx: any, fixes: any[]): HTMLElement {
  return h('li', { class: 'tx', 'data-tx': tx.transactionId, 'data-kind': tx.kind },
    link(`/bookings/${tx.transactionId}`,
      h('span', { class: 'name' }, t(`kind.${tx.kind}`)), ' ',
      tx.kind === 'booking' ? h('span', { class: 'muted' }, tx.slotId) : h('span', { class: 'muted' }, money(tx.amount))),
    h('span', { class: 'sub' }, hospitalName(tx.hospitalId), ' · ', (tx.createdAt || '').slice(0, 16).replace('T', ' ')),
    stateBadge(tx),
    fixes.map((f) => h('div', { class: 'fix' }, t(`kind.${f.kind}`), f.kind === 'payment' ? ` ${money(f.amount)}` : '', ': ', stateBadge(f))));
}

function bookingsScreen(): Child {
  if (needSignIn()) return signInScreen();
  const list = h('section', { 'aria-live': 'polite', 'aria-label': t('bookings.title') }, h('p', { class: 'note' }, t('common.loading')));
  const load = async (): Promise<boolean> => {
    await loadHospitalNames();
    const r = await api('GET', '/api/v1/transactions?limit=100');
    if (r.status !== 200) { replace(list, problem(r.body)); return true; }
    const all: any[] = r.body.transactions ?? [];
    // A booking's prepayment and every correction (cancel, refund) are shown under it.
    const ids = new Set(all.map((x) => x.transactionId));
    const under = (x: any): any[] => all.filter((y) => y.corrects === x.transactionId ||
      (x.kind === 'booking' && y.kind === 'payment' && y.binds === x.transactionId)).flatMap((y) => [y, ...under(y)]);
    const shown = all.filter((x) => !x.corrects && !(x.kind === 'payment' && x.binds && ids.has(x.binds)));
    replace(list, shown.length ? h('ul', { class: 'cards' }, shown.map((x) => txLine(x, under(x))))
                               : h('p', { class: 'note' }, t('bookings.none')));
    return all.some((x) => !settled(x));
  };
  load().then((more) => { if (more) poll(1500, load); });
  return [h('h1', {}, t('bookings.title')), list];
}

function transactionScreen(id: string): Child {
  if (needSignIn()) return signInScreen();
  const box = h('section', { 'aria-live': 'polite' }, h('p', { class: 'note' }, t('common.loading')));
  const msg = h('div', { 'aria-live': 'polite' });
  const load = async (): Promise<boolean> => {
    await loadHospitalNames();
    const r = await api('GET', `/api/v1/transactions/${encodeURIComponent(id)}`);
    if (r.status !== 200) { replace(box, problem(r.body)); return false; }
    const tx = r.body;
    const paid = tx.binds ? await api('GET', `/api/v1/transactions/${encodeURIComponent(tx.binds)}`) : null;
    const pay = paid?.status === 200 ? paid.body : null;
    const rows: Child[] = [
      h('dt', {}, t('tx.kind')), h('dd', {}, t(`kind.${tx.kind}`)),
      h('dt', {}, t('tx.state')), h('dd', { id: 'tx-state' }, stateBadge(tx)),
      h('dt', {}, t('book.hospital')), h('dd', {}, hospitalName(tx.hospitalId)),
      tx.slotId ? [h('dt', {}, t('tx.slot')), h('dd', {}, tx.slotId)] : null,
      h('dt', {}, t('book.fee')), h('dd', {}, money(tx.amount)),
      pay ? [h('dt', {}, t('tx.payment')), h('dd', { id: 'pay-state' }, stateBadge(pay))] : null];
    for (const f of [...(tx.corrections ?? []), ...(pay?.corrections ?? [])])
      rows.push(h('dt', {}, t(`kind.${f.kind}`)), h('dd', { class: 'fix' }, stateBadge(f)));
    if (tx.state === 'IN_DOUBT' || pay?.state === 'IN_DOUBT') rows.push(h('dd', { class: 'note wide' }, t('tx.in_doubt_note')));
    // Refused by one of the hospital's rules (the ledger keeps the rule's code): which rule
    // and what to do; the real-name step comes back to search, where the patient books again.
    const rule = typeof tx.refusal?.code === 'string' ? refusedRule(tx.refusal.code) : null;
    const actions: Child[] = [];
    const corrected = (tx.corrections ?? []).some((f: any) => f.state !== 'VOIDED');
    if (tx.kind === 'booking' && !corrected && ['POSTED', 'HELD', 'CREATED'].includes(tx.state))
      actions.push(h('button', { type: 'button', class: 'danger', id: 'cancel', onclick: () => cancel(tx, pay) }, t('tx.cancel')));
    if (tx.kind === 'payment' && tx.state === 'POSTED' && !corrected)
      actions.push(h('button', { type: 'button', class: 'danger', id: 'refund', onclick: () => refund(tx) }, t('tx.refund')));
    if (pay?.state === 'CREATED' && sessionStorage.getItem('pay:' + id)) actions.push(link(`/pay/${id}`, t('pay.title')));
    replace(box, h('dl', { class: 'facts' }, rows), rule ? ruleRefusal(rule, null, '/search') : null, actions);
    const open = [tx, pay, ...(tx.corrections ?? []), ...(pay?.corrections ?? [])].filter(Boolean);
    return open.some((x) => !settled(x));
  };
  // Cancel a booking, and refund its payment once the hospital has it: one key each,
  // derived from the ids, so pressing again after a lost answer is the same request.
  const cancel = async (tx: any, pay: any) => {
    replace(msg, h('p', { class: 'note' }, t('common.sending')));
    const c = await api('POST', `/api/v1/bookings/${tx.transactionId}/cancel`, { reason: 'patient' }, `cancel-${tx.transactionId}`);
    if (c.status !== 200 && c.status !== 201) return replace(msg, problem(c.body));
    if (pay && pay.state === 'POSTED') {
      const r = await api('POST', `/api/v1/payments/${pay.transactionId}/refund`, { reason: 'patient' }, `refund-${pay.transactionId}`);
      if (r.status !== 201 && r.status !== 409) return replace(msg, problem(r.body));
    }
    replace(msg, h('p', { class: 'note' }, t('tx.cancel_sent')));
    stopPolling();
    if (await load()) poll(1500, load);
  };
  const refund = async (tx: any) => {
    const r = await api('POST', `/api/v1/payments/${tx.transactionId}/refund`, { reason: 'patient' }, `refund-${tx.transactionId}`);
    if (r.status !== 201) return replace(msg, problem(r.body));
    stopPolling();
    if (await load()) poll(1500, load);
  };
  load().then((more) => { if (more) poll(1500, load); });
  return [h('h1', {}, t('tx.title')), box, msg, link('/bookings', t('nav.bookings'))];
}

// ---- lab reports ------------------------------------------------------------------------
// The list is one call, GET /api/v1/me/reports: the patient's reports at each hospital linked
// to them (a hospital that confirmed a booking of theirs), each hospital's first page, newest
// first (docs/portal-api.md, "My reports"). A hospital's part is "listed" (its reports, and
// "more reports" while it has a nextCursor: the next pages are that hospital's own list,
// GET /api/v1/hospitals/{h}/reports?cursor=), "on_its_way" (slower than the API's wait: the
// part says so and polls the task until the list arrives) or "failed" (its error, in its part
// only). A hospital with no report of the patient's shows nothing.
const fetchedAt = (s: string) => /^\d{12}/.test(s) ? `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)} ${s.slice(8, 10)}:${s.slice(10, 12)}`
  : s.slice(0, 16).replace('T', ' ');
const validId = (id: unknown): id is string => typeof id === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(id);

function hospitalReports(hospitalId: string, shown: () => void): { part: HTMLElement; fill: (answer: any) => void } {
  const list = h('ul', { class: 'cards', hidden: true });
  const state = h('div', {});
  const part = h('section', { 'data-hospital': hospitalId, 'aria-label': hospitalName(hospitalId), hidden: true },
    h('h2', {}, hospitalName(hospitalId)), list, state);
  const reveal = () => { part.hidden = false; shown(); };
  const add = (reports: any[]) => {
    for (const r of reports) {
      if (!r || !validId(r.reportId)) continue;
      list.appendChild(h('li', {}, link(`/reports/${encodeURIComponent(hospitalId)}/${encodeURIComponent(r.reportId)}`,
        h('span', { class: 'name' }, r.title || r.reportId),
        h('span', { class: 'sub' }, t('report.issued', { at: fetchedAt(String(r.issuedAt ?? '')) }),
          r.status === 'F' || r.status === 'final' ? ' · ' + t('report.final') : ''))));
    }
    list.hidden = !list.childElementCount;
    if (list.childElementCount) reveal();
  };
  const listed = (reports: unknown, nextCursor: unknown) => {
    replace(state);
    add(Array.isArray(reports) ? reports : []);
    if (typeof nextCursor === 'string')
      replace(state, h('button', { type: 'button', class: 'secondary', onclick: () => more(nextCursor) }, t('reports.more')));
  };
  const failed = (error: any) => { replace(state, problem(error)); reveal(); };
  // The task's result is the hospital's whole list, unpaged: newest first here too.
  const onItsWay = (taskId: string) => {
    replace(state, h('p', { class: 'onway', role: 'status' }, t('reports.on_way', { hospital: hospitalName(hospitalId) })));
    reveal();
    poll(1500, async () => {
      const task = await api('GET', `/api/v1/tasks/${encodeURIComponent(taskId)}`);
      if (task.status === 202) return true;
      if (task.status === 200 && Array.isArray(task.body?.result?.reports)) {
        replace(state);
        add([...task.body.result.reports].sort((x: any, y: any) => String(y.issuedAt).localeCompare(String(x.issuedAt))).slice(0, 100));
        if (!list.childElementCount) part.hidden = true;
      } else failed(task.body?.error ?? task.body);
      return false;
    });
  };
  // The next page: the hospital's own list, asked by the patient's number there.
  const more = async (cursor: string): Promise<void> => {
    const r = await api('GET', `/api/v1/hospitals/${encodeURIComponent(hospitalId)}/reports?limit=20&cursor=` + encodeURIComponent(cursor));
    if (r.status === 200) return listed(r.body?.reports, r.body?.nextCursor);
    if (r.status === 202 && validId(r.body?.taskId)) return onItsWay(r.body.taskId);
    failed(r.body);
  };
  // One hospital's part of GET /api/v1/me/reports.
  const fill = (answer: any) => {
    if (answer?.status === 'listed') return listed(answer.reports, answer.nextCursor);
    if (answer?.status === 'on_its_way' && validId(answer.taskId)) return onItsWay(answer.taskId);
    failed(answer?.error);
  };
  return { part, fill };
}

function reportsScreen(): Child {
  if (needSignIn()) return signInScreen();
  const box = h('section', { id: 'reports', 'aria-live': 'polite', 'aria-label': t('reports.title') });
  const note = h('p', { class: 'note' }, t('common.loading'));
  let any = false;
  (async () => {
    const [r] = await Promise.all([api('GET', '/api/v1/me/reports?limit=20'), loadHospitalNames()]);
    if (r.status !== 200) return note.replaceWith(problem(r.body));
    const answers = (Array.isArray(r.body?.hospitals) ? r.body.hospitals : []).filter((a: any) => validId(a?.hospitalId));
    const parts = answers.map((a: any) => hospitalReports(a.hospitalId, () => { any = true; note.hidden = true; }));
    replace(box, parts.map((p: { part: HTMLElement }) => p.part));
    parts.forEach((p: { fill: (a: any) => void }, i: number) => p.fill(answers[i]));
    // Linked nowhere yet: reports show once a hospital has confirmed a booking made here.
    if (!any) replace(note, t(answers.length ? 'reports.none' : 'reports.none_linked'));
  })();
  return [h('h1', {}, t('reports.title')), note, box];
}

function reportScreen(hospitalId: string, reportId: string): Child {
  if (needSignIn()) return signInScreen();
  const box = h('section', { 'aria-live': 'polite', id: 'report' }, h('p', { class: 'note' }, t('common.loading')));
  const show = (rep: any) => {
    replace(box, h('h2', {}, rep.title ?? reportId),
      h('p', { class: 'sub' }, t('report.issued', { at: String(rep.issuedAt ?? '') }), ' · ', rep.status === 'F' || rep.status === 'final' ? t('report.final') : String(rep.status ?? '')),
      h('table', {},
        h('caption', {}, t('report.results')),
        h('thead', {}, h('tr', {}, ['report.item', 'report.value', 'report.range', 'report.flag'].map((k) => h('th', { scope: 'col' }, t(k))))),
        h('tbody', {}, (rep.observations ?? []).map((o: any) => h('tr', { class: o.flag === 'H' || o.flag === 'L' ? 'abnormal' : '' },
          h('td', {}, o.name), h('td', {}, `${o.value} ${o.units ?? ''}`), h('td', {}, o.referenceRange ?? ''),
          h('td', {}, has(`flag.${o.flag}`) ? t(`flag.${o.flag}`) : String(o.flag ?? '')))))));
  };
  const waiting = () => replace(box, h('p', { class: 'onway', role: 'status' }, t('report.on_way')));
  (async () => {
    const r = await api('GET', `/api/v1/hospitals/${encodeURIComponent(hospitalId)}/reports/${encodeURIComponent(reportId)}`);
    if (r.status === 200) return show(r.body);
    if (r.status !== 202 || !r.body?.taskId) return replace(box, problem(r.body));
    waiting();
    poll(1500, async () => {
      const task = await api('GET', `/api/v1/tasks/${encodeURIComponent(r.body.taskId)}`);
      if (task.status === 202) return true;
      if (task.status === 200 && task.body?.result) { show(task.body.result); return false; }
      replace(box, problem(task.body?.error ?? task.body));
      return false;
    });
  })();
  return [h('h1', {}, t('reports.title')), box, link('/reports', t('reports.all'))];
}

// ---- the router -------------------------------------------------------------------------
function route(): Child {
  const p = location.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (p[0] === 'signin') return signInScreen();
  if (p[0] === 'real-name') return realNameScreen();
  if (p[0] === 'account') return accountScreen();
  if (p[0] === 'book' && p.length === 3) return bookScreen(p[1], p[2]);
  if (p[0] === 'pay' && p.length === 2) return payScreen(p[1]);
  if (p[0] === 'bookings' && p.length === 2) return transactionScreen(p[1]);
  if (p[0] === 'bookings') return bookingsScreen();
  if (p[0] === 'reports' && p.length === 3) return reportScreen(p[1], p[2]);
  if (p[0] === 'reports') return reportsScreen();
  return searchScreen();
}

function render(): void {
  stopPolling();
  if (isConsolePath()) { loadConsole().then((m) => m.renderConsole()); return; }
  document.body.className = '';
  document.title = t('app.name');
  const body = route();
  replace(document.body, h('a', { class: 'skip', href: '#main' }, t('nav.skip')), header(), main);
  replace(main, body);
}

(async () => {
  if (isConsolePath()) return (await loadConsole()).startConsole();
  await loadConfig();
  const r = await api('GET', '/api/v1/me');
  if (r.status === 200 && r.body?.patient_id) me = r.body;
  render();
})();
