// The control plane's API (same origin, the hg_session cookie) and the read replicas'
// search (their own origin, public). State-changing requests carry X-CSRF-Token, the
// readable hg_csrf cookie's value (docs/portal.md).
export interface Answer<T = any> { status: number; body: T; }

export interface PortalConfig { searchUrls: string[]; }
let config: PortalConfig = { searchUrls: [''] };

export async function loadConfig(): Promise<void> {
  try {
    const res = await fetch('/config.json', { cache: 'no-cache' });
    if (res.ok) {
      const c = await res.json();
      if (Array.isArray(c.searchUrls) && c.searchUrls.length) config = { searchUrls: c.searchUrls.map(String) };
    }
  } catch { /* same origin then */ }
}

// The operator console's session answers its CSRF token (docs/console.md); the portal's
// is the readable hg_csrf cookie. Both are the same value when the control plane sets both.
let csrfToken = '';
export function setCsrfToken(token: string): void { csrfToken = token; }

function cookie(name: string): string {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return '';
}

// Called on every 401 answer before the caller sees it: the portal turns a session that
// ended elsewhere ("sign out everywhere" on another device, expiry) into its signed-out state.
let unauthorized: ((path: string) => void) | null = null;
export function onUnauthorized(fn: (path: string) => void): void { unauthorized = fn; }

export async function api<T = any>(method: string, path: string, body?: unknown, key?: string): Promise<Answer<T>> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrfToken || cookie('hg_csrf');
  if (key) headers['Idempotency-Key'] = key;
  try {
    const res = await fetch(path, { method, headers, credentials: 'same-origin',
                                    body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let parsed: any = null;
    try { parsed = text ? JSON.parse(text) : null; } catch { parsed = { code: 'http.not_json', message: '' }; }
    if (res.status === 401) unauthorized?.(path);
    return { status: res.status, body: parsed };
  } catch {
    return { status: 0, body: { code: 'network', message: '' } as any };
  }
}

// A search on the first replica that answers; the next one when it does not.
export async function search(kind: string, params: Record<string, string>, signal?: AbortSignal): Promise<Answer> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  let last: Answer = { status: 0, body: { code: 'network', message: '' } };
  for (const base of config.searchUrls) {
    try {
      const res = await fetch(`${base}/api/v1/search/${kind}?${q}`, { signal });
      last = { status: res.status, body: await res.json() };
      if (res.status < 500) return last;
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw e;
    }
  }
  return last;
}

// Pays at the provider's checkout (pay-sim plays the provider's page: POST
// /v3/checkout/{prepayId}). Another origin that sends no CORS headers: the answer is
// opaque, and the payment's state is read from the ledger afterwards.
export async function payAtCheckout(payUrl: string): Promise<boolean> {
  try {
    await fetch(payUrl, { method: 'POST', mode: 'no-cors', body: '{}', headers: { 'Content-Type': 'text/plain' } });
    return true;
  } catch { return false; }
}

export function newKey(prefix: string): string {
  const a = new Uint8Array(12);
  crypto.getRandomValues(a);
  return prefix + '-' + Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('');
}

// Runs step every `every` ms after the last one ended, while it answers true; returns the stop.
export function repeat(every: number, step: () => Promise<boolean>): () => void {
  let live = true;
  const tick = async () => {
    if (!live) return;
    if (await step() && live) timer = window.setTimeout(tick, every);
  };
  let timer = window.setTimeout(tick, every);
  return () => { live = false; clearTimeout(timer); };
}
