#!/usr/bin/env bash
# Re-extract messages after changing any user-facing text, then translate the new entries in the .po file.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin}
"$PY/pybabel" extract -F babel.cfg -k _l -k N_ -o messages.pot . >/dev/null
"$PY/pybabel" update -i messages.pot -d registry/translations -l zh_Hans_CN --no-fuzzy-matching
rm messages.pot
