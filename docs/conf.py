"""Sphinx configuration for the tinynn documentation.

Build locally (warnings are errors, as in CI)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The build needs no network: the intersphinx inventories are written here (docs/inventories.py),
and every figure is made here, by the executed tutorial (myst-nb) and the gallery scripts in
``examples/`` (sphinx-gallery).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import os
import re
from pathlib import Path

# One BLAS thread, set before numpy is imported: the examples and the tutorial run small problems,
# where a multi-threaded BLAS (scipy's L-BFGS-B calls it every iteration) is several times slower
# on a busy machine. The notebook kernel inherits these too. CI sets the same variables.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import tinynn
import tinynn.params

DOCS = Path(__file__).resolve().parent
API = DOCS / "api"  # one page per module, docs/api/<module>.rst
ROOT = DOCS.parent

project = "tinynn"
author = "The tinynn developers"
copyright = "2026, The tinynn developers"
version = release = tinynn.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",  # links to Python, NumPy, SciPy, Matplotlib, scikit-learn
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",  # "[source]" links from every API entry to its code, offline
    "sphinx_copybutton",
    "sphinx-mathjax-offline",  # MathJax ships with the pages: formulas render offline
    "numpydoc",
    "myst_nb",
    "sphinx_gallery.gen_gallery",
]

exclude_patterns = [
    "_build",
    "_jupyter",
    "jupyter_execute",
    "Thumbs.db",
    ".DS_Store",
    # included into performance.md, not a page of its own
    "performance_figures.md",
    # sphinx-gallery writes these next to its output; the gallery index links them
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
]
templates_path = ["_templates"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb"}
root_doc = "index"

# -- HTML ---------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"tinynn {release}"
html_static_path = ["_static"]
html_css_files = ["tinynn.css"]
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    # the first six pages in the top bar, the rest under "More"
    "header_links_before_dropdown": 6,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "secondary_sidebar_items": ["page-toc", "notebook-download", "sourcelink"],
}
# pages without sub-pages: no empty "Section Navigation" column
html_sidebars = {
    page: []
    for page in [
        "index",
        "getting_started",
        "changelog",
        "performance",
        "uci",
        "migration",
        "architecture",
    ]
}

# -- autodoc, autosummary, numpydoc -------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_typehints = "none"  # numpydoc's Parameters section carries the types
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = False  # the class template lists methods itself
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = True  # parameter types link to their pages, here and outside
numpydoc_xref_ignore = "all"  # only the names below and numpydoc's own become links
numpydoc_xref_aliases = {
    "Generator": "numpy.random.Generator",
    "Figure": "matplotlib.figure.Figure",
    "matplotlib.figure.Figure": "matplotlib.figure.Figure",
    "Axes": "matplotlib.axes.Axes",
    "matplotlib Axes": "matplotlib.axes.Axes",
    "PathLike": "os.PathLike",
    "os.PathLike": "os.PathLike",
    "Regressor": "tinynn.estimator.Regressor",
    "History": "tinynn.optim.History",
    "OptimizeResult": "tinynn.optim.OptimizeResult",
    "Objective": "tinynn.losses.Objective",
    "FlatObjective": "tinynn.losses.FlatObjective",
    "Posterior": "tinynn.posterior.Posterior",
    "Predictive": "tinynn.posterior.Predictive",
    "Laplace": "tinynn.posterior.Laplace",
    "Ensemble": "tinynn.posterior.Ensemble",
    "Standardizer": "tinynn.data.Standardizer",
    "Optimizer": "tinynn.optim.Optimizer",
    "TrainState": "tinynn.optim.TrainState",
}

# -- intersphinx, offline: inventories written here from docs/inventories.py, nothing fetched ---
_inventories_spec = importlib.util.spec_from_file_location("inventories", DOCS / "inventories.py")
_inventories = importlib.util.module_from_spec(_inventories_spec)
_inventories_spec.loader.exec_module(_inventories)
intersphinx_mapping = _inventories.write_inventories(DOCS / "generated" / "inventories")
intersphinx_timeout = 1
numpydoc_use_plots = False

# -- "Read more in the user guide" on every API page ---------------------------------------------
# The autosummary templates look a name up here, then its module; the value is a reference to the
# guide section (labels "guide-..." in docs/user_guide/) or page that explains it. An unknown label
# fails the build (-W), and tests/test_docs_build.py checks that every public name finds an entry.
_REF = ":ref:`{}`".format
_DOC = ":doc:`{}`".format
USER_GUIDE = {
    "tinynn": _DOC("/getting_started"),
    "tinynn.params": _REF("guide-network-params"),
    "tinynn.params.sample_prior": _REF("guide-prior-samples"),
    **{
        f"tinynn.params.{name}": _REF("guide-initialization")
        for name in ["Initializer", "INITIALIZERS", "constant", *tinynn.params.INITIALIZERS]
    },
    "tinynn.model": _REF("guide-predict"),
    **{
        f"tinynn.model.{name}": _REF("guide-activations")
        for name in ["ACTIVATIONS", "Activation", "get_activation", "resolve_activation"]
    },
    **{f"tinynn.model.{name}": _REF("guide-gradients") for name in ["forward", "backward"]},
    "tinynn.model.layer_shapes": _REF("guide-network-params"),
    "tinynn.model.jacobian": _REF("guide-jacobians"),
    "tinynn.model.input_jacobian": _REF("guide-jacobians"),
    "tinynn.model.stack_size": _REF("guide-sample-axis"),
    "tinynn.losses": _REF("guide-gaussian-nll"),
    "tinynn.losses.heteroscedastic_nll": _REF("guide-ensembles"),
    **{
        f"tinynn.losses.{name}": _REF("guide-objective")
        for name in ["make_objective", "Objective", "FlatObjective"]
    },
    "tinynn.losses.log_prior": _REF("guide-priors"),
    "tinynn.losses.l2_penalty": _REF("guide-priors"),
    "tinynn.losses.mse": _REF("guide-metrics"),
    "tinynn.losses.rmse": _REF("guide-metrics"),
    "tinynn.optim": _REF("guide-optimizers"),
    "tinynn.optim.minimize": _DOC("/user_guide/optimization"),
    **{
        f"tinynn.optim.{name}": _REF("guide-schedules")
        for name in ["constant", "cosine_decay", "exponential_decay", "step_decay"]
    },
    "tinynn.optim.OptimizeResult": _REF("guide-result"),
    "tinynn.optim.History": _REF("guide-history"),
    "tinynn.optim.CallbackInfo": _REF("guide-progress"),
    "tinynn.optim.ConvergenceWarning": _REF("guide-stopping"),
    **{
        f"tinynn.optim.{name}": _REF("guide-divergence")
        for name in ["DivergenceError", "DivergenceWarning"]
    },
    "tinynn.posterior": _REF("guide-posterior"),
    **{
        f"tinynn.posterior.{name}": _REF("guide-laplace")
        for name in ["Laplace", "fit_laplace", "STRUCTURES"]
    },
    "tinynn.posterior.Ensemble": _REF("guide-ensembles"),
    "tinynn.posterior.fit_ensemble": _REF("guide-ensembles"),
    **{
        f"tinynn.posterior.{name}": _REF("guide-mcmc")
        for name in ["Samples", "fit_nuts", "fit_hmc", "NetworkLogDensity"]
    },
    **{
        f"tinynn.posterior.{name}": _REF("guide-vi")
        for name in ["MeanField", "fit_vi", "negative_elbo", "NegativeELBO"]
    },
    "tinynn.posterior.fit_sgld": _REF("guide-sgld"),
    "tinynn.mcmc": _REF("guide-mcmc"),
    "tinynn.metrics": _REF("guide-scoring"),
    "tinynn.diagnostics": _REF("guide-diagnostics"),
    "tinynn.plot.plot_trace": _REF("guide-diagnostics"),
    "tinynn.plot.plot_rank": _REF("guide-diagnostics"),
    "tinynn.data": _REF("guide-toy-data"),
    "tinynn.data.Standardizer": _REF("guide-standardization"),
    "tinynn.data.make_gap_data": _REF("guide-posterior"),
    "tinynn.gradcheck": _REF("guide-gradcheck"),
    "tinynn.estimator": _DOC("/user_guide/regressor"),
    "tinynn.plot": _DOC("/user_guide/plotting"),
    "tinynn.io": _DOC("/user_guide/saving"),
    "tinynn.io.atomic_write": _REF("guide-file-safety"),
    "tinynn.io.Terminated": _REF("guide-file-safety"),
    "tinynn.tree": _REF("guide-trees"),
    **{f"tinynn.tree.{name}": _REF("guide-sample-axis") for name in ["stack", "unstack", "index"]},
    "tinynn.compat": _DOC("/migration"),
    "tinynn.cli": _DOC("/user_guide/cli"),
}
autosummary_context = {"user_guide": USER_GUIDE}

# -- MyST and myst-nb ---------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "substitution"]
myst_heading_anchors = 3
nb_execution_mode = "force"
nb_execution_timeout = 300  # seconds per cell
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

# Run notebooks with the interpreter that runs Sphinx, whatever kernels the machine has installed:
# docs/_jupyter/kernels holds a "tinynn-docs" kernel spec whose command is "python" (jupyter_client
# replaces it with sys.executable) and which keeps the inline matplotlib backend even when the build
# itself runs with MPLBACKEND=Agg, as CI does.
os.environ["JUPYTER_PATH"] = os.pathsep.join(
    [str(DOCS / "_jupyter"), *filter(None, [os.environ.get("JUPYTER_PATH")])]
)
nb_kernel_rgx_aliases = {".*": "tinynn-docs"}

# -- sphinx-gallery -----------------------------------------------------------------------------


def _missing_imports(script: Path) -> list[str]:
    """Return the tinynn names that ``script`` imports but the installed package lacks yet."""
    missing = []
    for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tinynn"):
            try:
                module = importlib.import_module(node.module)
            except ImportError:
                missing.append(node.module)
                continue
            missing += [
                f"{node.module}.{a.name}" for a in node.names if not hasattr(module, a.name)
            ]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("tinynn"):
                    try:
                        importlib.import_module(alias.name)
                    except ImportError:
                        missing.append(alias.name)
    return missing


# A gallery script whose tinynn imports do not exist yet is skipped, not failed: the library
# grows module by module and the gallery follows it.
_skipped = [p.name for p in sorted((ROOT / "examples").glob("plot_*.py")) if _missing_imports(p)]
if _skipped:
    print("sphinx-gallery: skipping (tinynn names missing):", ", ".join(_skipped))

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": "|".join([r"__init__\.py", *(re.escape(name) for name in _skipped)]),
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "image_srcset": ["2x"],  # sharp figures on high-density screens, at the same size
    "doc_module": ("tinynn",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"tinynn": None},
    "remove_config_comments": True,
    "show_memory": False,
    # the execution-times pages load jQuery and DataTables from CDNs: they would not work offline
    "write_computation_times": False,
    "min_reported_time": 1,
    "download_all_examples": False,
    "copyfile_regex": "",
}

# -- the command line's --help, captured at build time for docs/user_guide/cli.md ---------------


def _write_cli_help() -> None:
    """Write ``tinynn [COMMAND] --help`` into generated/cli/*.txt, so the page never goes stale."""
    import contextlib
    import io

    out_dir = DOCS / "generated" / "cli"
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        from tinynn.cli import main
    except ImportError:
        main = None
    saved_columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "88"  # argparse wraps its help to this width (check_site.MAX_LINE)
    try:
        for command in ["tinynn", "demo", "fit", "predict", "info"]:
            text = "(the tinynn command is not available in this build)\n"
            if main is not None:
                buffer = io.StringIO()
                argv = ["--help"] if command == "tinynn" else [command, "--help"]
                with contextlib.redirect_stdout(buffer), contextlib.suppress(SystemExit):
                    main(argv)
                text = buffer.getvalue()
            (out_dir / f"{command}.txt").write_text(text, encoding="utf-8")
    finally:
        if saved_columns is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = saved_columns


_write_cli_help()


def _write_demo_run() -> None:
    """Run ``tinynn demo`` in a scratch folder and keep what it printed (generated/cli/run.txt)."""
    import contextlib
    import io
    import tempfile

    from tinynn.cli import main

    buffer = io.StringIO()
    with tempfile.TemporaryDirectory() as scratch, contextlib.redirect_stdout(buffer):
        main(["demo", "--quiet", "--out", str(Path(scratch) / "tinynn-demo")])
    text = buffer.getvalue().replace(str(Path(scratch) / "tinynn-demo"), "tinynn-demo")
    (DOCS / "generated" / "cli" / "run.txt").write_text("$ tinynn demo\n" + text, encoding="utf-8")


_write_demo_run()

# -- the names ``import tinynn`` gives, each linked to its page in the API reference -------------


def _documented_names() -> dict[int, str]:
    """Map id(object) -> fully qualified name for every autosummary entry of the API pages."""
    found: dict[int, str] = {}
    module, in_table = "", False
    text = "\n".join(page.read_text(encoding="utf-8") for page in sorted(API.glob("*.rst")))
    for line in text.splitlines():
        if line.startswith(".. currentmodule:: "):
            module = line.split()[-1]
        if line.startswith(".. autosummary::"):
            in_table = True
        elif in_table and line.strip() and not line.startswith(" "):
            in_table = False
        elif in_table and line.strip() and not line.strip().startswith(":"):
            name = line.strip().lstrip("~")
            try:
                obj = getattr(importlib.import_module(module), name)
            except (ImportError, AttributeError):
                continue
            found.setdefault(id(obj), f"{module}.{name}")
    return found


def _write_toplevel_table() -> None:
    """Write generated/toplevel.txt: a table of tinynn.__all__ with links to the API pages."""
    documented = _documented_names()
    rows = []
    for name in tinynn.__all__:
        obj = getattr(tinynn, name)
        if name == "__version__":
            rows.append(("``tinynn.__version__``", f"the version string, ``{tinynn.__version__}``"))
        elif inspect.ismodule(obj):
            rows.append((f"``tinynn.{name}``", f"the module :mod:`{obj.__name__}`"))
        elif id(obj) in documented:
            rows.append((f"``tinynn.{name}``", f":obj:`~{documented[id(obj)]}`"))
        else:
            rows.append((f"``tinynn.{name}``", "(not in the API reference yet)"))
    lines = [".. list-table::", "   :header-rows: 1", "", "   * - name", "     - documented as"]
    for left, right in rows:
        lines += [f"   * - {left}", f"     - {right}"]
    out = DOCS / "generated" / "toplevel.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


_write_toplevel_table()

# -- pages that other teammates own and that may not exist yet -----------------------------------
_OPTIONAL = {
    "tutorial": DOCS / "tutorial.md",
    "performance_figures": DOCS / "performance_figures.md",
}


def _drop_missing_optional(app, docname, source):  # type: ignore[no-untyped-def]
    """Drop links to pages that are not written yet: the teammates' pages and skipped examples."""
    text = source[0]
    for name, path in _OPTIONAL.items():
        if path.exists():
            continue
        text = re.sub(rf"(?m)^{name}\n", "", text)
        text = re.sub(rf"{{doc}}`{name}`", f"the {name} (not written yet)", text)
        text = re.sub(
            rf"```{{include}} {name}\.md\n```",
            f"*The {name.replace('_', ' ')} page is being written.*",
            text,
        )
    for script in _skipped:
        stem = script.removesuffix(".py")
        text = re.sub(
            rf"{{doc}}`[^`]*auto_examples/{stem}`",
            f"the gallery example *{stem}* (not built yet)",
            text,
        )
    source[0] = text


def _drop_type_docstring(app, what, name, obj, options, lines):  # type: ignore[no-untyped-def]
    """Show nothing rather than ``str``'s docstring for a constant that has no doc comment."""
    if what in ("data", "attribute") and lines:
        type_doc = inspect.getdoc(type(obj)) or ""
        if "\n".join(lines).strip() == type_doc.strip():
            lines.clear()


# -- executed pages can be downloaded as Jupyter notebooks -------------------------------------
NOTEBOOKS = "_notebooks"  # folder of the built site that holds the downloadable notebooks


def _executed_notebook(app, pagename: str) -> Path | None:  # type: ignore[no-untyped-def]
    """Return the notebook myst-nb executed for ``pagename`` (a page with a kernel), or None."""
    path = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    is_notebook = "kernelspec" in app.env.metadata.get(pagename, {})
    return path if is_notebook and path.exists() else None


def _offer_notebook(app, pagename, templatename, context, doctree):  # type: ignore[no-untyped-def]
    """Give the page template a link to the page's notebook, copied into the built site."""
    source = _executed_notebook(app, pagename)
    if source is None:
        return
    target = Path(app.outdir) / NOTEBOOKS / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(source.read_bytes())
    context["notebook_download"] = f"{NOTEBOOKS}/{pagename}.ipynb"


def setup(app):  # type: ignore[no-untyped-def]
    app.connect("source-read", _drop_missing_optional)
    app.connect("html-page-context", _offer_notebook)
    app.connect("autodoc-process-docstring", _drop_type_docstring, priority=100)
