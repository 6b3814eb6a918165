-- Prosody settings for jitsi-oidc-adapter on a Debian install (docs/jitsi.md).
-- File: /etc/prosody/conf.d/meet.example.com.cfg.lua (package jitsi-meet-tokens installed).

-- On the existing main VirtualHost: hosts log in with the adapter's token.
VirtualHost "meet.example.com"
    authentication = "token"
    app_id = "jitsi_app"
    app_secret = "<the adapter's JWT_APP_SECRET>"
    signature_algorithm = "HS256"
    asap_accepted_issuers = { "jitsi_app" }
    asap_accepted_audiences = { "jitsi" }
    -- Tokenless users must not count as hosts: they belong on the guest domain below.
    allow_empty_token = false
    -- Only with a moderator rule (docs/policy.md §3): token users are not all made owner.
    -- wait_for_host_disable_auto_owners = true

-- A new VirtualHost: guests join anonymously and wait until a host has opened the room.
VirtualHost "guest.meet.example.com"
    authentication = "anonymous"
    c2s_require_encryption = false

-- On the existing MUC component, only with a moderator rule: token_affiliation reads the
-- token's context.user.affiliation / moderator and sets owner or member from it, and
-- muc_wait_for_host keeps guests waiting once Jicofo no longer does (add it if missing).
-- Component "conference.meet.example.com" "muc"
--     modules_enabled = { (the modules already listed), "token_affiliation", "muc_wait_for_host" }

-- Jicofo, only with a moderator rule (/etc/jitsi/jicofo/jicofo.conf): Jicofo must not make
-- every user owner, nor every authenticated user.
--     jicofo { conference { enable-auto-owner = false }, authentication { enabled = false } }
