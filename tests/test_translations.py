"""The Chinese catalog covers every message the code and templates mark: none missing, empty or fuzzy."""

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "registry" / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"


def test_every_marked_message_has_a_chinese_translation(tmp_path):
    template = tmp_path / "messages.pot"
    extract = subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "N_",
        ]
        + ["-o", str(template), "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert extract.returncode == 0, extract.stderr[-2000:]
    with template.open("rb") as handle:
        marked = read_po(handle)
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle)

    missing = sorted(str(m.id) for m in marked if m.id and m.id not in catalog)
    untranslated = sorted(
        str(m.id)
        for m in catalog
        if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string)))
    )
    fuzzy = sorted(str(m.id) for m in catalog if m.id and m.fuzzy)
    assert missing == [], "not in the catalog (run scripts/i18n.sh and translate):\n" + "\n".join(missing)
    assert untranslated == [], "no Chinese yet:\n" + "\n".join(untranslated)
    assert fuzzy == [], "fuzzy, check and confirm:\n" + "\n".join(fuzzy)
