#!/usr/bin/env bash
# Install the Debian packages Telederm needs, only those missing.
#   scripts/install-system-deps.sh run    gettext (compiling translations)
#   scripts/install-system-deps.sh test   + chromium (browser tests) and postgresql (database tests)
set -euo pipefail
purpose=${1:-test}
need=()
command -v msgfmt >/dev/null 2>&1 || need+=(gettext)
if [ "$purpose" = test ]; then
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    need+=(postgresql)
  fi
fi
[ ${#need[@]} -eq 0 ] && exit 0
echo "Installing Debian packages: ${need[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
