import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

import Provider, { type ClientMetadata, type Configuration } from 'oidc-provider'

/** A test or demo account: its `sub` is the login name typed at the provider's form. */
export interface DevAccount {
  claims: Record<string, unknown>
}

/** Accounts of the demo and of the tests, named after the role they play. */
export const devAccounts: Record<string, DevAccount> = {
  ana: {
    claims: {
      name: 'Ana Host',
      given_name: 'Ana',
      family_name: 'Host',
      email: 'ana@example.org',
      email_verified: true,
      groups: ['moderators', 'staff'],
      picture: 'https://avatars.example.org/ana.png',
    },
  },
  ben: {
    claims: {
      name: 'Ben Participant',
      email: 'ben@example.org',
      email_verified: true,
      groups: ['students'],
    },
  },
  eve: {
    claims: {
      name: 'Eve Outsider',
      email: 'eve@elsewhere.example',
      email_verified: true,
      groups: [],
    },
  },
  user1: { claims: { preferred_username: 'user1' } },
}

export interface DevIdpOptions {
  port?: number
  host?: string
  clients: ClientMetadata[]
  /** Put scope claims into the ID token (true) or serve them only from userinfo (false). */
  claimsInIdToken?: boolean
  /** Overrides of the provider configuration, for tests that need another behaviour. */
  configuration?: Partial<Configuration>
}

export interface DevIdp {
  issuer: string
  provider: Provider
  server: Server
  close(): Promise<void>
}

/**
 * Starts oidc-provider (a certified OpenID provider) on loopback with its development login
 * form: any password works, and the login name picks an account from `devAccounts` (an
 * unknown name becomes an account with only `sub` and `preferred_username`).
 */
export async function startDevIdp(options: DevIdpOptions): Promise<DevIdp> {
  const host = options.host ?? '127.0.0.1'
  const server = createServer()
  server.listen(options.port ?? 0, host)
  await once(server, 'listening')
  const issuer = `http://${host}:${(server.address() as AddressInfo).port}`

  const provider = new Provider(issuer, {
    clients: options.clients,
    async findAccount(_ctx, id) {
      const account = devAccounts[id]
      return {
        accountId: id,
        async claims() {
          return { sub: id, ...(account ? account.claims : { preferred_username: id }) }
        },
      }
    },
    claims: {
      openid: ['sub'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username', 'picture'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
    conformIdTokenClaims: !(options.claimsInIdToken ?? true),
    // A first-party provider: grant the requested scopes without a consent screen.
    async loadExistingGrant(ctx) {
      const existing = ctx.oidc.session!.grantIdFor(ctx.oidc.client!.clientId)
      if (existing) return ctx.oidc.provider.Grant.find(existing)
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client!.clientId,
        accountId: ctx.oidc.session!.accountId!,
      })
      grant.addOIDCScope('openid profile email groups')
      await grant.save()
      return grant
    },
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    cookies: { keys: ['demo-and-test-only-cookie-key-0123456789'] },
    ...options.configuration,
  })
  // The development provider runs on http; oidc-provider would otherwise insist on https.
  provider.proxy = false

  server.on('request', provider.callback())

  return {
    issuer,
    provider,
    server,
    async close() {
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    },
  }
}
