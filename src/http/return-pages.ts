import type { FastifyReply, FastifyRequest } from 'fastify'

import { errorCatalogue, type AppError } from '../errors.js'
import type { LoginRequest } from '../jitsi/login-request.js'
import type { ReturnTarget } from '../jitsi/return.js'
import {
  html,
  raw,
  renderLinks,
  renderPage,
  type PageLink,
  type RenderedPage,
  type SafeHtml,
} from './pages.js'
import { sendPage } from './reply.js'

/**
 * Data for the page scripts travels in a JSON block that never runs; `<`, `>` and `&` are
 * escaped so no value can close the element. The scripts themselves are constant, which keeps
 * their CSP hashes fixed.
 */
function renderData(data: unknown): SafeHtml {
  return raw(
    JSON.stringify(data).replace(
      /[<>&\u2028\u2029]/g,
      (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
    ),
  )
}

const readData = "var d=JSON.parse(document.getElementById('return-data').textContent);"

// Automatic return is off by default: custom-scheme navigation without a tap is blocked or
// breaks the tab in several Android browsers (JITSI.md §6).
const autoReturnScript = `${readData}if(d.auto){location.href=d.link}`

// Jitsi's tokenAuthInline popup listens on its opener for these messages (JITSI.md §5); the
// target origin pins them to the Jitsi site, so no other window can read the token.
const popupScript = `${readData}if(window.opener){window.opener.postMessage(d.message,d.origin);window.close()}else{location.replace(d.fallback)}`

// On failure the popup stays open so the user can read why; Jitsi hears the code at once.
const popupErrorScript = `${readData}if(window.opener){window.opener.postMessage(d.message,d.origin)}`

// Popup mode logs out through a hidden iframe that waits for this message from its child.
const logoutFrameScript = `${readData}if(window.parent!==window){window.parent.postMessage(d.message,d.origin)}`

const appNames: Record<LoginRequest['client'], string> = {
  web: 'Jitsi Meet',
  ios: 'the Jitsi Meet app',
  android: 'the Jitsi Meet app',
  electron: 'the Jitsi Meet desktop app',
}

/** The room as people read it: percent-escapes decoded (escaping happens at render time). */
function buildDisplayName(request: Pick<LoginRequest, 'room' | 'tenant'>): string {
  const decode = (text: string) => {
    try {
      return decodeURIComponent(text)
    } catch {
      return text
    }
  }
  return request.tenant ? `${decode(request.tenant)}/${decode(request.room)}` : decode(request.room)
}

/** The page after login for the mobile and desktop apps, or for Jitsi's popup mode. */
export function renderReturnPage(
  target: ReturnTarget,
  request: LoginRequest,
  options: { token: string; autoReturn: boolean; jitsiOrigin: string },
): RenderedPage {
  if (target.kind === 'popup-page') {
    return renderPage({
      title: 'Signed in',
      body: html`<h1>Signed in</h1>
        <p>You can close this window and return to the meeting.</p>
        <script type="application/json" id="return-data">
          ${renderData({ origin: options.jitsiOrigin, message: { type: 'oauth-success', accessToken: options.token }, fallback: target.webUrl })}
        </script>`,
      scripts: [popupScript],
    })
  }

  const appLink = target.intentLink ?? target.deepLink ?? target.url
  const links: PageLink[] = [
    { href: appLink, label: 'Return to the app', primary: true },
    ...(target.intentLink && target.deepLink
      ? [{ href: target.deepLink, label: 'Open with the app link' }]
      : []),
    { href: target.webUrl, label: 'Open in the browser instead' },
  ]
  return renderPage({
    title: 'Return to the app',
    body: html`<h1>You are signed in</h1>
      <p>
        ${request.client === 'electron' ? 'Select' : 'Tap'} the button to go back to
        ${appNames[request.client]} and join
        <strong id="room-name">${buildDisplayName(request)}</strong>.
      </p>
      ${renderLinks(links)}
      <script type="application/json" id="return-data">
        ${renderData({ auto: options.autoReturn, link: appLink })}
      </script>`,
    scripts: [autoReturnScript],
  })
}

/**
 * Sends a failed popup-mode login: the usual error page, plus a script that tells Jitsi's
 * opener `{type: 'oauth-error', error: <code>}` (JITSI.md §5) so the meeting page stops waiting.
 */
export function sendPopupError(
  request: FastifyRequest,
  reply: FastifyReply,
  error: AppError,
  links: readonly PageLink[],
  jitsiOrigin: string,
): FastifyReply {
  const title =
    error.code === 'ERR_OIDC_ACCESS_DENIED'
      ? 'Sign-in cancelled'
      : error.status >= 500
        ? 'Something went wrong'
        : 'Sign-in failed'
  const page = renderPage({
    title,
    body: html`<h1>${title}</h1>
      <p>${errorCatalogue[error.code].message}</p>
      ${renderLinks(links)}
      <p class="meta">Error <code>${error.code}</code> · request <code>${request.id}</code></p>
      <script type="application/json" id="return-data">
        ${renderData({ origin: jitsiOrigin, message: { type: 'oauth-error', error: error.code } })}
      </script>`,
    scripts: [popupErrorScript],
  })
  return sendPage(reply, error.status, page)
}

/**
 * The answer to popup mode's hidden logout iframe: it posts `{type: 'logout-success'}` to the
 * Jitsi page. The only page that may be framed, and only by the Jitsi origin.
 */
export function renderLogoutFramePage(jitsiOrigin: string): RenderedPage {
  const page = renderPage({
    title: 'Signed out',
    body: html`<h1>Signed out</h1>
      <script type="application/json" id="return-data">
        ${renderData({ origin: jitsiOrigin, message: { type: 'logout-success' } })}
      </script>`,
    scripts: [logoutFrameScript],
  })
  return {
    html: page.html,
    contentSecurityPolicy: page.contentSecurityPolicy.replace(
      "frame-ancestors 'none'",
      `frame-ancestors ${jitsiOrigin}`,
    ),
  }
}
