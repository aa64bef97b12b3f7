"""Stand-in for the third-party ``mock`` package, which kazoo's tests import.

Debian's python3-kazoo test suite does ``import mock`` / ``from mock import ...``, but
python3-mock is not a dependency of python3-kazoo and is not installed by .ci/run. The
standard library's unittest.mock is the same code (mock was its backport), so this module
re-exports it. scripts/interop.sh puts this directory on PYTHONPATH only when ``import mock``
fails, so an installed python3-mock is used as is.
"""
from unittest.mock import *  # noqa: F401,F403
from unittest.mock import __all__  # noqa: F401
