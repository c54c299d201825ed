"""The ``chainrule`` command line: ``linreg``, ``train``, ``plot`` and ``gradcheck``.

Each subcommand lives in its own module exposing ``register(subparsers)`` (which adds its
parser and sets ``handler=run``) and ``run(args) -> int``; :mod:`chainrule.cli.main`
wires them together. Nothing in the library imports this package.
"""
