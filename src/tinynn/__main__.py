"""Run the ``tinynn`` command as ``python -m tinynn``."""

from tinynn.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
