import type { LoginRequest } from '../jitsi/login-request.js'
import type { ReturnTarget } from '../jitsi/return.js'
import { html, raw, renderLinks, renderPage, type PageLink, type RenderedPage } from './pages.js'

/**
 * Data for the page scripts travels in a JSON block that never runs; `<`, `>` and `&` are
 * escaped so no value can close the element. The scripts themselves are constant, which keeps
 * their CSP hashes fixed.
 */
function renderData(data: unknown): string {
  return JSON.stringify(data).replace(
    /[<>&\u2028\u2029]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}

const autoReturnScript =
  "var d=JSON.parse(document.getElementById('return-data').textContent);if(d.auto){location.href=d.link}"

// Jitsi's tokenAuthInline popup listens on its opener for this message (JITSI.md §5); the
// target origin pins it to the Jitsi site, so no other window can read the token.
const popupScript =
  "var d=JSON.parse(document.getElementById('return-data').textContent);if(window.opener){window.opener.postMessage(d.message,d.origin);window.close()}else{location.replace(d.fallback)}"

const appNames: Record<LoginRequest['client'], string> = {
  web: 'Jitsi Meet',
  ios: 'the Jitsi Meet app',
  android: 'the Jitsi Meet app',
  electron: 'the Jitsi Meet desktop app',
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
          ${raw(renderData({ origin: options.jitsiOrigin, message: { type: 'oauth-success', accessToken: options.token }, fallback: target.webUrl }))}
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
      <p>Tap the button to go back to ${appNames[request.client]} and join the meeting.</p>
      ${renderLinks(links)}
      <script type="application/json" id="return-data">
        ${raw(renderData({ auto: options.autoReturn, link: appLink }))}
      </script>`,
    scripts: [autoReturnScript],
  })
}
