import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface MeetingPageOptions {
  port?: number
  host?: string
  /** Jitsi's `config.tokenAuthUrl`, with `{state}` (and optionally `{room}`) placeholders. */
  tokenAuthUrl: string
  /** Jitsi's `config.tokenLogoutUrl`. */
  tokenLogoutUrl?: string
}

export interface MeetingPage {
  url: string
  server: Server
  close(): Promise<void>
}

/**
 * A stand-in for the Jitsi Meet web app, for the demo and the browser tests. It does what
 * JITSI.md says Jitsi does at the two points where it meets the adapter: it builds the state
 * JSON from its address and hash (§5) and expands tokenAuthUrl, and on return it reads the
 * token from the hash or query (§6). It then shows the token's claims instead of a meeting.
 *
 * Query switches for the tests: `?popup=1` is Jitsi's popup mode (tokenAuthInline), with its
 * hidden-iframe logout; `?platform=ios|android|electron` adds the app's platform flag;
 * `?dialog=host|login|host-react` shows a Jitsi-like dialog instead of the Log-in button, for
 * `jitsi/body.html`, which nginx pulls in through the page's server-side include.
 */
export async function startMeetingPage(options: MeetingPageOptions): Promise<MeetingPage> {
  const host = options.host ?? '127.0.0.1'
  const page = buildMeetingHtml(options)
  const server = createServer((request, response) => {
    if (request.url?.startsWith('/favicon')) {
      response.writeHead(404).end()
      return
    }
    response.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
    })
    response.end(page)
  })
  server.listen(options.port ?? 0, host)
  await once(server, 'listening')

  return {
    url: `http://${host}:${(server.address() as AddressInfo).port}`,
    server,
    async close() {
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    },
  }
}

function buildMeetingHtml(options: MeetingPageOptions): string {
  const settings = JSON.stringify({
    tokenAuthUrl: options.tokenAuthUrl,
    tokenLogoutUrl: options.tokenLogoutUrl ?? null,
  }).replace(/</g, '\\u003c')

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Meeting (stand-in)</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;background:#1c2025;color:#eef}
main{max-width:46rem;margin:6vh auto;padding:2rem;background:#2a3038;border-radius:12px}
h1{font-size:1.3rem;margin-top:0} table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
td{border-top:1px solid #445;padding:.3rem .5rem;vertical-align:top;font-family:ui-monospace,monospace;font-size:.85rem;word-break:break-all}
td:first-child{color:#9ab;width:11rem} button,a.button{font:inherit;padding:.55rem 1rem;border:0;border-radius:8px;background:#246fe5;color:#fff;cursor:pointer;text-decoration:none}
.note{color:#9ab;font-size:.85rem} input{font:inherit;padding:.45rem;border-radius:6px;border:0;width:14rem}
</style></head>
<body><main id="app"></main>
<script>
const settings = ${settings};

// JITSI.md §4: the backend-safe room name.
function safeRoom(room) {
  let name = room;
  try { name = decodeURIComponent(name); } catch (e) {}
  name = name.normalize('NFKC').toLowerCase();
  return encodeURIComponent(name).toLowerCase();
}

function stripRoom(segment) {
  return segment.replace(/[:?#\\[\\]@!$&'()*+,;=><\\/"]|\\s/g, '');
}

function parseHash() {
  const params = [];
  for (const part of location.hash.slice(1).split('&')) {
    if (!part) continue;
    const index = part.indexOf('=');
    const key = index === -1 ? part : part.slice(0, index);
    const raw = index === -1 ? '' : part.slice(index + 1);
    try { params.push([key, JSON.parse(decodeURIComponent(raw))]); } catch (e) {}
  }
  return params;
}

function readLocation() {
  const segments = location.pathname.split('/').slice(1);
  const room = stripRoom(segments[segments.length - 1] || '');
  const tenant = segments.length > 1 ? segments.slice(0, -1).join('/') : undefined;
  const hash = parseHash();
  const jwtFromHash = hash.find(([key]) => key === 'jwt');
  const jwt = jwtFromHash ? jwtFromHash[1] : new URLSearchParams(location.search).get('jwt');
  const config = hash.filter(([key]) => /^(config|interfaceConfig|iceServers)\\./.test(key));
  return { room, tenant, jwt, config };
}

// JITSI.md §5: the state JSON, keys in Jitsi's order.
function buildState(where) {
  const state = { room: where.room, roomSafe: safeRoom(where.room) };
  if (where.tenant) state.tenant = where.tenant;
  state['config.prejoinConfig.enabled'] = false;
  for (const [key, value] of where.config) state[key] = value;
  const platform = new URLSearchParams(location.search).get('platform');
  if (platform === 'ios' || platform === 'android' || platform === 'electron') state[platform] = true;
  return state;
}

function buildTokenAuthUrl(where) {
  const state = encodeURIComponent(JSON.stringify(buildState(where)));
  return settings.tokenAuthUrl.replace('{state}', state).replace('{room}', where.room);
}

function decodePart(part) {
  const base64 = part.replace(/-/g, '+').replace(/_/g, '/');
  return JSON.parse(decodeURIComponent(escape(atob(base64))));
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, attrs || {});
  for (const child of children) node.append(child);
  return node;
}

function table(rows) {
  return el('table', {}, ...rows.map(([k, v]) => el('tr', {}, el('td', { textContent: k }), el('td', { textContent: typeof v === 'string' ? v : JSON.stringify(v) }))));
}

function render() {
  const app = document.getElementById('app');
  const where = readLocation();
  app.replaceChildren();

  if (!where.room) {
    const input = el('input', { id: 'room-input', value: 'Standup', placeholder: 'Room name' });
    const go = el('button', { id: 'go', textContent: 'Open meeting', onclick: () => { location.href = '/' + encodeURIComponent(input.value); } });
    app.append(el('h1', { textContent: 'Meeting stand-in' }), el('p', { textContent: 'Pick a room. Without a token you join as a guest and wait for a host.' }), input, ' ', go);
    return;
  }

  if (!where.jwt && dialogKind()) {
    app.append(el('h1', { id: 'waiting', textContent: 'Waiting for a moderator…' }), buildDialog(dialogKind()));
    return;
  }

  if (!where.jwt) {
    const login = el('button', { id: 'login', textContent: 'Log-in', onclick: () => {
      if (isPopupMode()) return openPopup(where);
      location.href = buildTokenAuthUrl(where);
    } });
    login.dataset.i18n = 'dialog.IamHost';
    app.append(el('h1', { id: 'waiting', textContent: 'Waiting for a moderator…' }),
      el('p', { textContent: 'Room "' + where.room + '"' + (where.tenant ? ' in tenant "' + where.tenant + '"' : '') + '. Are you the host?' }), login);
    return;
  }

  let header, claims;
  try {
    [header, claims] = where.jwt.split('.').slice(0, 2).map(decodePart);
  } catch (e) {
    app.append(el('h1', { id: 'token-error', textContent: 'The token could not be read' }));
    return;
  }
  const user = (claims.context && claims.context.user) || {};
  app.append(
    el('h1', { id: 'joined', textContent: 'Joined as ' + (user.name || user.id || 'host') }),
    el('p', { className: 'note', textContent: 'A real Jitsi would now connect to Prosody with this token. Decoded:' }),
    el('h2', { textContent: 'Header' }), table(Object.entries(header)),
    el('h2', { textContent: 'Claims' }), el('div', { id: 'claims' }, table(Object.entries(claims))),
    el('h2', { textContent: 'Config carried back' }), el('div', { id: 'config' }, table(where.config)),
  );
  const pre = el('pre', { id: 'claims-json', hidden: true, textContent: JSON.stringify({ header, claims, config: Object.fromEntries(where.config), path: location.pathname }) });
  app.append(pre);
  if (!settings.tokenLogoutUrl) return;
  if (isPopupMode()) app.append(el('button', { id: 'logout', textContent: 'Sign out', onclick: logoutInFrame }));
  else app.append(el('a', { className: 'button', id: 'logout', href: settings.tokenLogoutUrl, textContent: 'Sign out' }));
}

function isPopupMode() {
  return new URLSearchParams(location.search).get('popup') === '1';
}

function dialogKind() {
  return new URLSearchParams(location.search).get('dialog');
}

// Jitsi's dialogs as the page script finds them: the OK button's id, and its label key in a
// data attribute (host), a password field (login), or React's fiber props (host-react).
function buildDialog(kind) {
  const ok = el('button', { id: 'modal-dialog-ok-button', textContent: kind === 'login' ? 'Log in' : 'I am the host' });
  if (kind === 'host') ok.dataset.i18n = 'dialog.IamHost';
  if (kind === 'host-react') ok['__reactFiber$standin'] = { memoizedProps: { children: 'I am the host' }, return: { memoizedProps: { labelKey: 'dialog.IamHost' }, return: null } };
  ok.addEventListener('click', () => { document.getElementById('dialog-note').textContent = 'Jitsi would now ask for a password.'; });
  const dialog = el('div', { id: 'dialog', role: 'dialog' }, el('h2', { textContent: kind === 'login' ? 'Authentication required' : 'Waiting for the host…' }));
  dialog.setAttribute('role', 'dialog');
  if (kind === 'login') dialog.append(el('input', { id: 'login-dialog-username', placeholder: 'user@domain' }), ' ', el('input', { id: 'login-dialog-password', type: 'password' }), ' ');
  dialog.append(ok, el('p', { id: 'dialog-note', className: 'note' }));
  return dialog;
}

// Popup mode logs out in a hidden iframe and waits for the page there to say it is done.
function logoutInFrame() {
  window.addEventListener('message', function done(event) {
    if (event.origin !== location.origin || !event.data || event.data.type !== 'logout-success') return;
    window.removeEventListener('message', done);
    history.replaceState(null, '', location.pathname + location.search);
    document.getElementById('app').replaceChildren(el('h1', { id: 'signed-out', textContent: 'Signed out' }));
  });
  document.body.append(el('iframe', { id: 'logout-frame', hidden: true, src: settings.tokenLogoutUrl }));
}

// Jitsi's tokenAuthInline mode (JITSI.md §5): a popup with &nonce= that posts the token back.
function openPopup(where) {
  const nonce = Math.random().toString(36).slice(2);
  window.addEventListener('message', (event) => {
    if (event.origin !== location.origin || !event.data) return;
    if (event.data.type === 'oauth-error') {
      document.getElementById('app').append(el('p', { id: 'popup-error', textContent: 'Login failed: ' + event.data.error }));
      return;
    }
    if (event.data.type !== 'oauth-success') return;
    location.hash = 'jwt=' + encodeURIComponent(JSON.stringify(event.data.accessToken));
  });
  window.open(buildTokenAuthUrl(where) + '&nonce=' + nonce, 'login', 'width=600,height=700');
}

window.addEventListener('hashchange', render);
render();
</script>
<!--#include virtual="/body.html" -->
</body></html>
`
}
