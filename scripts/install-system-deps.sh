#!/usr/bin/env bash
# Install the Debian packages Telederm needs, only those missing.
#   scripts/install-system-deps.sh run    gettext (compiling translations), Pango and a font (PDFs)
#   scripts/install-system-deps.sh test   + chromium (browser tests) and postgresql (database tests)
set -euo pipefail
purpose=${1:-test}
need=()
command -v msgfmt >/dev/null 2>&1 || need+=(gettext)
# WeasyPrint (the patient summary as PDF) lays text out with Pango and needs a font.
ldconfig -p 2>/dev/null | grep -q 'libpango-1.0.so.0' || need+=(libpango-1.0-0)
ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so.0' || need+=(libpangoft2-1.0-0)
[ -d /usr/share/fonts/truetype/dejavu ] || need+=(fonts-dejavu-core)
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
