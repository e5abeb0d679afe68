"""The package as a user installs it: a wheel, with no source tree beside it, serves the Chinese interface."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SERVE_LOGIN_PAGE = """
import registry
from registry import create_app
import sys
app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:///" + sys.argv[1], "SECRET_KEY": "x" * 40})
page = app.test_client().get("/login").get_data(as_text=True)
print(registry.__file__)
print(registry.RUNS_FROM_SOURCE)
print(page)
"""


def test_an_installed_wheel_serves_a_chinese_login_page(tmp_path):
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            tmp_path,
            ROOT,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    [wheel] = tmp_path.glob("screening_registry-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(site)
    assert "registry/translations/zh_Hans_CN/LC_MESSAGES/messages.mo" in names
    assert "registry/bundled/templates/base.html" in names

    environment = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DATABASE_URL", "REDIS_URL")
    }
    served = subprocess.run(
        [sys.executable, "-c", SERVE_LOGIN_PAGE, str(tmp_path / "wheel.db")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**environment, "PYTHONPATH": str(site)},
    )
    assert served.returncode == 0, served.stderr[-3000:]
    module_file, from_source, page = served.stdout.split("\n", 2)
    assert module_file.startswith(str(site)) and from_source == "False"
    assert 'lang="zh-CN"' in page and "用户名" in page and "密码" in page


def test_a_catalog_without_its_compiled_file_is_compiled_on_start(tmp_path, monkeypatch):
    import shutil

    from registry import i18n

    copy = tmp_path / "translations"
    shutil.copytree(i18n.TRANSLATIONS, copy, ignore=shutil.ignore_patterns("*.mo"))
    monkeypatch.setattr(i18n, "TRANSLATIONS", copy)
    assert i18n.compiled_catalog_directories(tmp_path / "instance") == [str(copy)]
    assert (copy / "zh_Hans_CN" / "LC_MESSAGES" / "messages.mo").stat().st_size > 10_000
