"""spurbench: how generative and discriminative classifiers degrade under distribution shift.

The data flow is one way: spec -> generator -> harness -> store -> report.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("spurbench")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
