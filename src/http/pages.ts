import { createHash } from 'node:crypto'

/**
 * Pages are built from tagged templates that escape every interpolated value, so no room name,
 * provider message or URL can inject markup. `raw()` marks the few fragments built here.
 */
export interface SafeHtml {
  readonly html: string
}

export function raw(html: string): SafeHtml {
  return { html }
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`=]/g, (char) => `&#${char.charCodeAt(0)};`)
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!
  values.forEach((value, index) => {
    out += render(value) + strings[index + 1]!
  })
  return raw(out)
}

function render(value: unknown): string {
  if (value === undefined || value === null || value === false) return ''
  if (Array.isArray(value)) return value.map(render).join('')
  if (typeof value === 'object' && 'html' in value) return (value as SafeHtml).html
  return escapeHtml(String(value))
}

const style = `
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f5f7;color:#1c2025}
main{max-width:32rem;margin:12vh auto;padding:2rem;background:#fff;border-radius:12px;box-shadow:0 2px 12px #0002}
h1{font-size:1.4rem;margin:0 0 .75rem}
p{margin:.5rem 0}
.actions{margin-top:1.5rem;display:flex;flex-wrap:wrap;gap:.75rem}
a.button{display:inline-block;padding:.6rem 1.1rem;border-radius:8px;background:#246fe5;color:#fff;text-decoration:none;font-weight:600}
a.secondary{background:#e8ebf0;color:#1c2025}
.meta{margin-top:1.5rem;font-size:.8rem;color:#5e6d7a}
code{font-size:.85em}
`

/**
 * A CSP source for one exact inline block: no `unsafe-inline` anywhere. The block must be
 * inserted byte for byte (outside `html`, which formatters re-indent), or browsers refuse it.
 */
export function cspHash(content: string): string {
  return `'sha256-${createHash('sha256').update(content).digest('base64')}'`
}

const styleHash = cspHash(style)

export interface PageLink {
  href: string
  label: string
  primary?: boolean
}

export interface Page {
  title: string
  body: SafeHtml
  /** Inline scripts the page runs; each gets its hash into the page's CSP. */
  scripts?: readonly string[]
}

export interface RenderedPage {
  html: string
  contentSecurityPolicy: string
}

export function renderPage(page: Page): RenderedPage {
  const scripts = page.scripts ?? []
  const scriptSources = scripts.length > 0 ? scripts.map(cspHash).join(' ') : "'none'"
  const document = html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>${page.title}</title>
        ${raw(`<style>${style}</style>`)}
      </head>
      <body>
        <main>${page.body}</main>
        ${scripts.map((script) => raw(`<script>${script}</script>`))}
      </body>
    </html> `
  return {
    html: document.html,
    contentSecurityPolicy: `default-src 'none'; style-src ${styleHash}; script-src ${scriptSources}; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  }
}

export function renderLinks(links: readonly PageLink[]): SafeHtml {
  return html`<div class="actions">
    ${links.map(
      (link) =>
        html`<a class="button${link.primary ? '' : ' secondary'}" href="${link.href}"
          >${link.label}</a
        >`,
    )}
  </div>`
}

export interface ErrorPageInput {
  title: string
  message: string
  code: string
  requestId: string
  links: readonly PageLink[]
}

export function renderErrorPage(input: ErrorPageInput): RenderedPage {
  return renderPage({
    title: input.title,
    body: html`<h1>${input.title}</h1>
      <p>${input.message}</p>
      ${renderLinks(input.links)}
      <p class="meta">
        Error <code>${input.code}</code> · request <code>${input.requestId}</code>
      </p>`,
  })
}
