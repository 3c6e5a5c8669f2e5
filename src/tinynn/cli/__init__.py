"""The ``tinynn`` command: a demo, fitting a CSV table, predicting and describing saved models.

Usage::

    tinynn demo [--out DIR] [--seed N]
    tinynn fit DATA.csv --target COLUMN [--features A B ...] [--hidden auto|30,30]
               [--out model.npz]
    tinynn predict MODEL.npz DATA.csv [--out predictions.csv]
    tinynn info MODEL.npz

Bad input (a missing file or column, a non-numeric or missing cell, an empty table, a file that
is not a tinynn model) prints one line on standard error and exits with status 2. Every file is
written atomically (temporary file, then rename), so an error never damages an existing file.
Progress goes to standard error, results to standard output.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import numpy as np

from tinynn import io
from tinynn.cli import _commands as commands
from tinynn.cli._files import CliError

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message} (see '{self.prog} --help')")


def _int_at_least(minimum: int, what: str) -> Callable[[str], int]:
    """Return an argparse type that reads a whole number of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what} >= {minimum}, got {value}")
        return value

    return parse


_positive_int = _int_at_least(1, "a number")
_seed = _int_at_least(0, "a seed")


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got '{text}'") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {value}")
    return value


def _hidden(text: str) -> tuple[int, ...] | str:
    if text.strip().lower() in ("", "none", "0"):
        return ()
    if text.strip().lower() == "auto":
        return "auto"
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer sizes like 30,30, or auto, got '{text}'"
        ) from None
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be >= 1, got '{text}'")
    return sizes


def _sigma(text: str) -> Any:
    if text == "learn":
        return "learn"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'learn' or a number, got '{text}'") from None
    if not value > 0 or not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a positive noise std, got {value}")
    return value


def _add_training_options(p: argparse.ArgumentParser, *, hidden: str, uncertainty: str) -> None:
    p.add_argument(
        "--hidden",
        type=_hidden,
        default=_hidden(hidden),
        metavar="H1,H2",
        help="hidden layer sizes, comma-separated; 0 for linear; auto: one layer of 5 to 28 "
        "units, as wide as the evidence says (with --uncertainty laplace_mixture, the "
        "members of the two best widths mixed; without a posterior, 30) "
        f"(default {hidden})",
    )
    p.add_argument("--activation", default="tanh", help="hidden activation (default tanh)")
    p.add_argument(
        "--optimizer",
        default="auto",
        choices=["auto", "adam", "rmsprop", "lbfgs", "levenberg_marquardt"],
        help="with --uncertainty none; auto: Levenberg-Marquardt for small networks, else "
        "L-BFGS when scipy is installed, else Adam (default auto)",
    )
    p.add_argument(
        "--uncertainty",
        default=uncertainty,
        choices=["laplace", "laplace_mixture", "ensemble", "none"],
        help="laplace: prior and noise set by the evidence, predictive std from the Laplace "
        "posterior; laplace_mixture: five such fits from different starts, mixed; ensemble: "
        f"five anchored networks; none: one network, --optimizer used (default {uncertainty})",
    )
    p.add_argument("--max-iter", type=_positive_int, default=500, help="iterations (default 500)")
    p.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress display")


EXIT_CODES = """exit status:
  0    success
  2    bad input or a file that cannot be read or written (one line on stderr)
  130  interrupted by Ctrl-C ('fit' saves the model fitted so far and says so)
  141  the reader of standard output closed it early (tinynn predict ... | head)
  143  terminated by SIGTERM (no file is left half-written)"""


def _build_parser() -> argparse.ArgumentParser:
    from tinynn import __version__

    parser = _Parser(
        prog="tinynn",
        description="Train tiny regression neural networks.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tinynn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    demo = sub.add_parser(
        "demo", help="fit the notebook's toy data and a 1-D data set with a gap, with uncertainty"
    )
    demo.add_argument("--out", default="tinynn-demo", help="output folder (default tinynn-demo)")
    demo.add_argument(
        "--n-examples", type=_positive_int, default=300, help="examples to generate (default 300)"
    )
    demo.add_argument(
        "--test-fraction",
        type=_fraction,
        default=0.2,
        help="share held out for testing (default 0.2)",
    )
    _add_training_options(demo, hidden="30", uncertainty="laplace")
    demo.set_defaults(func=commands.demo)

    fit = sub.add_parser("fit", help="fit a network to a CSV table and save it")
    fit.add_argument("data", help="CSV file with a header row")
    fit.add_argument("--target", required=True, help="column to predict")
    fit.add_argument(
        "--features",
        nargs="+",
        metavar="COLUMN",
        help="input columns (names or comma-separated; default: all but the target)",
    )
    fit.add_argument("--out", default="model.npz", help="model file to write (default model.npz)")
    fit.add_argument(
        "--validation-fraction",
        type=_fraction,
        default=0.2,
        help="share of rows held out for validation metrics (default 0.2)",
    )
    fit.add_argument(
        "--sigma",
        type=_sigma,
        default="learn",
        help="noise std in target units, or 'learn' (default learn)",
    )
    fit.add_argument(
        "--prior-std",
        type=float,
        default=None,
        help="Gaussian prior std on the weights (L2); default none",
    )
    fit.add_argument(
        "--early-stopping",
        action="store_true",
        help="stop when a held-out part of the training rows stops improving",
    )
    fit.add_argument(
        "--batch-size",
        type=_positive_int,
        default=None,
        metavar="B",
        help="train on shuffled minibatches of B rows (with --uncertainty none; --max-iter "
        "then counts epochs); default: all rows at every step",
    )
    _add_training_options(fit, hidden="auto", uncertainty="laplace_mixture")
    fit.set_defaults(func=commands.fit)

    pred = sub.add_parser("predict", help="predict with a saved model, writing CSV")
    pred.add_argument("model", help="model file written by 'tinynn fit' or tinynn.io.save")
    pred.add_argument("data", help="CSV file with the model's feature columns")
    pred.add_argument("--out", help="CSV file to write (default: standard output)")
    pred.add_argument("--std", action="store_true", help="add a column with the predictive std")
    pred.set_defaults(func=commands.predict)

    info = sub.add_parser("info", help="describe a saved model")
    info.add_argument("model", help="model file")
    info.set_defaults(func=commands.info)
    return parser


def _limit_blas_threads() -> None:
    """Run BLAS single-threaded unless the user chose otherwise (tiny problems gain nothing)."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def _silence_stdout() -> None:
    """Point standard output at the null device, so Python's exit flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (a test's captured stream)
        pass


def _raise_terminated(signum: int, frame: Any) -> None:
    raise io.Terminated(f"terminated by signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tinynn`` command with ``argv`` (default: the process arguments).

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name, e.g. ``["info", "model.npz"]``.

    Returns
    -------
    int
        Exit status: 0 on success, 2 on bad input (after one line on standard error), 130
        when interrupted by Ctrl-C (``fit`` saves the model fitted so far and says so, other
        commands save nothing), 141 when the reader of standard output closed it early
        (``tinynn predict ... | head``; nothing is printed), 143 on SIGTERM (the real command
        line only; no temporary file is left).

    Examples
    --------
    >>> main(["info", "no-such-model.npz"])
    2
    """
    if argv is None:  # only for the real command line:
        _limit_blas_threads()  # before scipy is imported
        signal.signal(signal.SIGTERM, _raise_terminated)  # so that cleanup runs, as for Ctrl-C
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            raise CliError("choose a command: demo, fit, predict or info (see 'tinynn --help')")
        return int(args.func(args))
    except CliError as err:
        print(f"tinynn: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: nothing is written after it, as a shell command does
        print("tinynn: interrupted; nothing was saved", file=sys.stderr)
        return 130
    except io.Terminated:  # SIGTERM (kill): temporary files are gone, 128 + 15 as shells say
        print("tinynn: terminated; nothing was saved", file=sys.stderr)
        return 143
    except BrokenPipeError:  # the reader stopped early (tinynn predict ... | head): not an error
        _silence_stdout()
        return 141
    except OSError as err:  # an unreadable input or unwritable output
        where = f" '{err.filename}'" if err.filename else ""
        print(f"tinynn: error: cannot access{where}: {err.strerror or err}", file=sys.stderr)
        return 2
    except SystemExit as done:  # --help and --version
        return int(done.code or 0)
    except Exception as err:  # a bug: still one line, and the traceback only on request
        if os.environ.get("TINYNN_DEBUG"):
            raise
        print(
            f"tinynn: error: unexpected {type(err).__name__}: {err} (a bug in tinynn; please "
            "report it with the command you ran; TINYNN_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return 2
