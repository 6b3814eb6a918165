// Jitsi Meet settings for jitsi-oidc-adapter (docs/jitsi.md).
// Debian: append to /etc/jitsi/meet/<domain>-config.js. docker-jitsi-meet: TOKEN_AUTH_URL in
// .env sets the first line; put the others in ~/.jitsi-meet-cfg/web/custom-config.js.
config.tokenAuthUrl = 'https://meet.example.com/oidc/auth?state={state}';
config.tokenLogoutUrl = 'https://meet.example.com/oidc/logout';

// Popup mode (Jitsi web, 2026 and later): the login runs in a popup and the meeting page stays.
// Logout then runs in a hidden iframe; ?iframe=1 tells the adapter so in every browser.
// config.tokenAuthInline = true;
// config.tokenLogoutUrl = 'https://meet.example.com/oidc/logout?iframe=1';

// Debian only: guests join on the anonymous domain (see prosody/jitsi-oidc.cfg.lua).
config.hosts.anonymousdomain = 'guest.meet.example.com';
