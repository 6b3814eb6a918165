#!/usr/bin/env bash
# The browser, nginx and systemd-analyze that the end-to-end and packaging tests drive. Installed
# from Debian when missing and running as root (CI, a fresh dev machine); otherwise this says
# what to install, and those tests skip with a named reason.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing test tools: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "note: ${missing[*]} missing; the browser, nginx and systemd tests will be skipped." >&2
  echo "      install them with: sudo apt-get install -y ${missing[*]}" >&2
fi
