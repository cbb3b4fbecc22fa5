#!/usr/bin/env bash
# System packages the integration tests drive (tintin++ for tests/tintin.rs, Chromium and
# chromium-driver for tests/webclient.rs), installed with
# apt-get when missing and skipped when present. `cargo xtask test` runs this first, so CI (root)
# and a fresh machine need no manual step; without root it uses sudo.
set -euo pipefail

need=()
# Debian installs tt++ in /usr/games, which is not on every PATH.
command -v tt++ >/dev/null 2>&1 || [ -x /usr/games/tt++ ] || need+=(tintin++)
# Headless Chromium and its WebDriver for tests/webclient.rs.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
[ ${#need[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "test-deps: please install ${need[*]} (no apt-get on this machine)" >&2
    exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
echo "test-deps: installing ${need[*]}" >&2
# The package lists may be missing or stale on a fresh machine: refresh once if needed.
$sudo apt-get install -y --no-install-recommends "${need[@]}" \
    || { $sudo apt-get update && $sudo apt-get install -y --no-install-recommends "${need[@]}"; }
