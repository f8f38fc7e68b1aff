// The console's session contract (docs/console.md), played inside the browser context for
// a control plane that does not serve it yet (the console-audit work adds it):
//   POST /api/v1/console/session {"token"} → 200 {"role","subject","csrf_token","expires_in_s"},
//        cookies hg_session (HttpOnly: the staff token itself) and hg_csrf; 401 for a token
//        that is not one of `tokens`; 403 console.role for patient and service tokens
//   GET  /api/v1/console/session → 200 the same fields, or 401
//   DELETE /api/v1/console/session (X-CSRF-Token) → 204, cookies cleared
// Every other request goes to the real control plane, which takes a token in the
// hg_session cookie and refuses a change without X-CSRF-Token equal to hg_csrf.
//
// consoleSessionServed() tells whether the control plane serves the route itself; the test
// installs this only when it does not.
import { randomBytes } from 'node:crypto';

export async function consoleSessionServed(origin, operatorToken) {
  const res = await fetch(`${origin}/api/v1/console/session`, { method: 'GET', headers: { Authorization: `Bearer ${operatorToken}` } });
  const body = await res.json().catch(() => ({}));
  return !(res.status === 404 && body.code === 'http.not_found');
}

// tokens: Map token → {role, subject}
export async function installConsoleSession(context, { origin, tokens }) {
  const json = (route, status, body) => route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(body) });
  const cookieOf = async (name) => (await context.cookies(origin)).find((c) => c.name === name)?.value ?? '';
  const csrfOf = new Map();  // token → csrf
  await context.route(`${origin}/api/v1/console/session`, async (route) => {
    const req = route.request();
    const method = req.method();
    if (method === 'POST') {
      let token = '';
      try { token = String(JSON.parse(req.postData() || '{}').token ?? ''); } catch { /* empty */ }
      const who = tokens.get(token.trim());
      if (!who) return json(route, 401, { code: 'auth.invalid_token', message: 'not a valid token' });
      if (who.role === 'patient' || who.role === 'service')
        return json(route, 403, { code: 'console.role', message: 'the console is for viewers, operators and admins' });
      const csrf = randomBytes(16).toString('hex');
      csrfOf.set(token.trim(), csrf);
      await context.addCookies([
        { name: 'hg_session', value: token.trim(), url: origin, httpOnly: true, sameSite: 'Strict' },
        { name: 'hg_csrf', value: csrf, url: origin, httpOnly: false, sameSite: 'Strict' }]);
      return json(route, 200, { role: who.role, subject: who.subject, csrf_token: csrf, expires_in_s: 3600 });
    }
    const token = await cookieOf('hg_session');
    const who = tokens.get(token);
    if (method === 'GET') {
      if (!who || !csrfOf.has(token)) return json(route, 401, { code: 'auth.missing_token', message: 'sign in' });
      return json(route, 200, { role: who.role, subject: who.subject, csrf_token: csrfOf.get(token), expires_in_s: 3600 });
    }
    if (method === 'DELETE') {
      const sent = (await req.allHeaders())['x-csrf-token'] ?? '';
      if (!sent || sent !== await cookieOf('hg_csrf')) return json(route, 403, { code: 'auth.csrf', message: 'X-CSRF-Token' });
      csrfOf.delete(token);
      await context.clearCookies();
      return route.fulfill({ status: 204 });
    }
    return json(route, 405, { code: 'http.method_not_allowed', message: method });
  });
}
