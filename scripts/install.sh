#!/usr/bin/env bash
# Install what Screening Registry needs on a Debian machine, into .venv/ beside the code.
#   bash scripts/install.sh         the application (PDF fonts and libraries, Python packages)
#   bash scripts/install.sh --dev   also what the test suite uses: PostgreSQL, redis-server, Chromium
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(fonts-noto-cjk fonts-wqy-microhei libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 python3-venv)
if [[ "${1:-}" == "--dev" ]]; then
  packages+=(postgresql redis-server chromium poppler-utils)
fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "Installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [[ "$(id -u)" != 0 ]] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
[[ -x .venv/bin/python ]] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
extras=""
[[ "${1:-}" == "--dev" ]] && extras="[dev]"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extras}" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import registry, flask, weasyprint" # fail here, not later, if the install did not take
.venv/bin/pybabel compile -d registry/translations >/dev/null 2>&1
