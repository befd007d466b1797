"""Modules a dependency imports eagerly but a run never uses, loaded on first use instead.

`import great_expectations` imports scipy.stats (for the distribution expectations, such as
expect_column_kl_divergence_to_be_less_than) and altair (for charts in some renderers) as it
registers every expectation: our suites and their Data Docs use neither, and the two are a third
of GX's import (about 2 s of CPU on every run).

`defer(names)` lets them be imported as lazy modules (`importlib.util.LazyLoader`): the module
object exists at once and its code runs on the first attribute access, so code that does use
one still works, paying for the import then. An import written `from x import y` reads an
attribute at once, so only modules imported as `import x` (and used later) gain anything.

Only the names given are deferred, from the call on, in the calling process. Python 3.11's
LazyLoader is not thread-safe (a second thread can see a module half loaded; fixed in 3.12), so
this is used only in `iom run`'s helper process (iom_pipeline/workers.py), which runs one task at a
time in one thread; runs in the UI's processes import Great Expectations as usual.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
import threading
from collections.abc import Iterable
from types import ModuleType

# Imported by Great Expectations as it registers every expectation and renderer.
UNUSED_BY_GREAT_EXPECTATIONS = frozenset({"scipy.stats", "altair"})

_LOCK = threading.Lock()


class _LazyFinder(importlib.abc.MetaPathFinder):
    """Finds the deferred modules through the other finders, and wraps their loader in a LazyLoader."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def find_spec(self, name, path, target=None):
        if name not in self.names:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = importlib.util.LazyLoader(spec.loader)
                return spec
        return None


def defer(names: Iterable[str]) -> None:
    """Import these modules lazily from now on (those already imported are unaffected)."""
    with _LOCK:
        finder = next((f for f in sys.meta_path if isinstance(f, _LazyFinder)), None)
        if finder is None:
            finder = _LazyFinder()
            sys.meta_path.insert(0, finder)
        finder.names.update(names)


def load_great_expectations() -> ModuleType:
    """Great Expectations, imported (once) with the modules it does not need deferred. For
    single-threaded processes only (see above)."""
    if "great_expectations" not in sys.modules:
        defer(UNUSED_BY_GREAT_EXPECTATIONS)
    import great_expectations

    return great_expectations
