// How the browser tests get a patient session: the ONE place that knows the sign-in
// backend is not merged yet (docs/portal.md, "Sign-in").
//
// Until it is, this plays the sign-in contract in the browser context itself:
//   POST /api/v1/auth/code {"phone"}          → 202 {"sent": true, "retry_after_s": 60}
//   POST /api/v1/auth/verify {"phone","code"} → 200 {"patient_id","real_name_verified"},
//        cookies hg_session (HttpOnly: a real patient token minted by `hisgate token issue`)
//        and hg_csrf (readable)
//   GET /api/v1/me, POST /api/v1/me/real-name, POST /api/v1/auth/logout
// and, for every other /api/v1 request, checks the contract's CSRF rule (a state-changing
// request must send X-CSRF-Token equal to hg_csrf: a portal that forgets it fails here)
// and passes the hg_session cookie on as the bearer token the control plane accepts today.
//
// When the backend is merged: delete the routes below, keep `codeFor` reading the code
// from the demo's SMTP relay log, and the tests run unchanged against the real thing.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export const demoPatients = { '13800000000': 'P-DEMO-1', '13900000001': 'P-H001-2' };
const FAKE_CODE = '246810';

export function codeFor(/* phone */) { return FAKE_CODE; }

export async function installSignIn(context, { origin, build, keysDir }) {
  const sessions = new Map();  // token -> {patient_id, real_name_verified}
  const cookieOf = async (name) => (await context.cookies(origin)).find((c) => c.name === name)?.value ?? '';
  const json = (route, status, body) => route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(body) });

  await context.route(`${origin}/api/v1/**`, async (route) => {
    const req = route.request();
    const path = new URL(req.url()).pathname;
    const method = req.method();
    const session = sessions.get(await cookieOf('hg_session'));
    if (method !== 'GET' && method !== 'HEAD') {
      const csrf = await cookieOf('hg_csrf');
      const sent = (await req.allHeaders())['x-csrf-token'] ?? '';
      if (path !== '/api/v1/auth/code' && path !== '/api/v1/auth/verify' && (!csrf || sent !== csrf))
        return json(route, 403, { code: 'auth.csrf', message: 'X-CSRF-Token missing or not the hg_csrf cookie' });
    }
    const body = () => { try { return JSON.parse(req.postData() || '{}'); } catch { return {}; } };
    if (path === '/api/v1/auth/code' && method === 'POST') {
      if (!demoPatients[body().phone]) return json(route, 400, { code: 'auth.bad_phone', message: 'not a demo phone' });
      return json(route, 202, { sent: true, retry_after_s: 60 });
    }
    if (path === '/api/v1/auth/verify' && method === 'POST') {
      const { phone, code } = body();
      const patient = demoPatients[phone];
      if (!patient || code !== FAKE_CODE) return json(route, 400, { code: 'auth.code_wrong', message: 'wrong code' });
      const token = execFileSync(`${build}/cli/hisgate`, ['token', 'issue', '--keys', keysDir, '--role', 'patient',
                                                         '--subject', patient, '--ttl', '1h']).toString().trim();
      const me = { patient_id: patient, real_name_verified: false };
      sessions.set(token, me);
      const csrf = randomBytes(16).toString('hex');
      await context.addCookies([
        { name: 'hg_session', value: token, url: origin, httpOnly: true, sameSite: 'Strict' },
        { name: 'hg_csrf', value: csrf, url: origin, httpOnly: false, sameSite: 'Strict' }]);
      return json(route, 200, me);
    }
    if (path === '/api/v1/me' && method === 'GET')
      return session ? json(route, 200, session) : json(route, 401, { code: 'auth.missing_token', message: 'sign in' });
    if (path === '/api/v1/me/real-name' && method === 'POST') {
      if (!session) return json(route, 401, { code: 'auth.missing_token', message: 'sign in' });
      session.real_name_verified = true;
      return json(route, 200, session);
    }
    if (path === '/api/v1/auth/logout' && method === 'POST') {
      await context.clearCookies();
      return route.fulfill({ status: 204 });
    }
    const token = await cookieOf('hg_session');
    if (!token) return route.continue();
    return route.continue({ headers: { ...(await req.allHeaders()), authorization: `Bearer ${token}` } });
  });
}
