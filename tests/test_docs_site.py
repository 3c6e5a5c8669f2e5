"""The check of the built pages (docs/check_site.py) finds each kind of problem, and only those."""

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "docs" / "check_site.py"
spec = importlib.util.spec_from_file_location("check_site", SCRIPT)
check_site = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_site)

LONG = "x = " + "1 + " * 30 + "1"  # 125 characters


def test_remote_scripts_and_styles_are_found():
    html = (
        '<script src="https://code.jquery.com/jquery.js"></script>'
        '<link rel="stylesheet" href="//cdn.example.org/a.css">'
        '<script src="_static/local.js"></script>'
        '<link rel="canonical" href="https://example.org/page.html">'
        '<a href="https://github.com/HIPS/autograd">autograd</a>'
    )
    assert check_site.remote_assets(html) == [
        "https://code.jquery.com/jquery.js",
        "//cdn.example.org/a.css",
    ]


def test_images_need_alt_text_that_is_more_than_a_file_name():
    html = (
        '<img alt="A loss curve falling" src="a.png" />'
        '<img src="b.png" />'
        '<img alt="" src="c.png" />'
        '<img alt="_images/d.png" src="_images/d.png" />'
        '<img alt="   " src="e.png" />'
        '<img alt="" src="../_images/sphx_glr_plot_x_thumb.png" />'
        '<img alt="plot learn sigma" src="../_images/sphx_glr_plot_learn_sigma_002.png" />'
        '<img alt="Sigma settles" src="../_images/sphx_glr_plot_learn_sigma_001.png" />'
    )
    assert check_site.images_without_alt(html) == [
        "b.png",
        "c.png",
        "_images/d.png",
        "e.png",
        "../_images/sphx_glr_plot_learn_sigma_002.png",
    ]


def test_long_code_lines_are_found_but_prose_outputs_may_wrap():
    code = f'<div class="highlight"><pre>{LONG}\nshort</pre></div>'
    assert check_site.long_lines(code) == [LONG]
    message = "ValueError: " + "word " * 30
    table = "name" + " " * 40 + "value" + " " * 50 + "1.0"
    block = '<div class="cell_output docutils"><div class="highlight">'
    output = f"{block}<pre>{message}\n{table}</pre>"
    assert check_site.long_lines(output) == [table]
    doctest = f'<div class="highlight"><pre>&gt;&gt;&gt; {LONG}\n{message}</pre></div>'
    assert check_site.long_lines(doctest) == [f">>> {LONG}"]
    spans = '<pre><span class="n">x</span> <span class="o">=</span> 1</pre>'
    assert check_site.long_lines(spans, limit=4) == ["x = 1"]


def test_a_figure_shown_twice_in_a_cell_is_found():
    image = {"image/png": "iVBOR...", "text/plain": "<Figure>"}
    notebook = {
        "cells": [
            {"cell_type": "code", "outputs": [{"output_type": "display_data", "data": image}]},
            {
                "cell_type": "code",
                "outputs": [
                    {"output_type": "execute_result", "data": image},
                    {"output_type": "display_data", "data": image},
                ],
            },
            {
                "cell_type": "code",
                "outputs": [
                    {"output_type": "display_data", "data": image},
                    {"output_type": "display_data", "data": image},
                ],
            },
            {"cell_type": "markdown", "source": "text"},
        ]
    }
    assert check_site.repeated_figures(notebook) == [1, 2]


def test_the_main_reports_every_problem_and_fails(tmp_path, capsys):
    site = tmp_path / "html"
    site.mkdir()
    (site / "good.html").write_text(
        '<script src="_static/mathjax/tex-chtml.js"></script><img alt="a plot" src="p.png" />'
        "<pre>short line</pre>"
    )
    assert check_site.main(["check", str(site)]) == 0
    assert "checked 1 pages: no problems" in capsys.readouterr().out
    (site / "bad.html").write_text(
        f'<script src="https://cdn.x.org/m.js"></script><img src="q.png" /><pre>{LONG}</pre>'
    )
    (tmp_path / "jupyter_execute").mkdir()
    shown_twice = {
        "cells": [
            {
                "cell_type": "code",
                "outputs": [{"output_type": "execute_result", "data": {"image/png": "x"}}],
            }
        ]
    }
    (tmp_path / "jupyter_execute" / "page.ipynb").write_text(json.dumps(shown_twice))
    assert check_site.main(["check", str(site)]) == 1
    out = capsys.readouterr().out
    assert "bad.html: loads https://cdn.x.org/m.js from another host" in out
    assert "bad.html: image q.png has no alt text" in out
    assert "bad.html: a line of 125 characters (at most 88)" in out
    assert "page.ipynb: cell 0 displays a figure twice" in out
    assert "4 problems in the built documentation" in out
    # the highlighted module sources behind [source] links are exempt from the line limit
    (site / "bad.html").unlink()
    (site / "_modules").mkdir()
    (site / "_modules" / "src.html").write_text(f"<pre>{LONG}</pre>")
    (tmp_path / "jupyter_execute" / "page.ipynb").unlink()
    assert check_site.main(["check", str(site)]) == 0
