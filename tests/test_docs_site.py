"""The offline check of the built pages finds remote scripts and styles, and only those."""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "docs" / "check_offline.py"
spec = importlib.util.spec_from_file_location("check_offline", SCRIPT)
check_offline = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_offline)


def test_remote_scripts_and_styles_are_found():
    html = (
        '<script src="https://code.jquery.com/jquery.js"></script>'
        '<link rel="stylesheet" href="//cdn.example.org/a.css">'
        '<script src="_static/local.js"></script>'
        '<link rel="canonical" href="https://example.org/page.html">'
        '<a href="https://github.com/HIPS/autograd">autograd</a>'
    )
    assert check_offline.remote_assets(html) == [
        "https://code.jquery.com/jquery.js",
        "//cdn.example.org/a.css",
    ]


def test_the_main_reports_and_fails_on_a_remote_asset(tmp_path, capsys):
    (tmp_path / "good.html").write_text('<script src="_static/mathjax/tex-chtml.js"></script>')
    assert check_offline.main(["check", str(tmp_path)]) == 0
    (tmp_path / "bad.html").write_text('<script src="https://cdn.x.org/m.js"></script>')
    assert check_offline.main(["check", str(tmp_path)]) == 1
    assert "bad.html: loads https://cdn.x.org/m.js" in capsys.readouterr().out
