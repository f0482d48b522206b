"""uvicorn's Server and Config, without the `uvicorn` command that its package imports.

`import uvicorn` runs the package's __init__, which imports uvicorn.main for uvicorn.run
and the `uvicorn` command line: click, and the reload and worker supervisors with
multiprocessing. A daemon that builds its server from code held them all day for
nothing (1.3 MB of its idle memory, bench/rss.py). So before the first import the
package is registered bare, from its own spec, and gives what its __init__ exports
when asked: Config and Server from their own modules, anything else (run, main) from
uvicorn.main, imported then.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from importlib import metadata
from typing import Any

NAME = "uvicorn"
_FROM = {"Config": "uvicorn.config", "Server": "uvicorn.server"}


class _Package(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # asked by the import system and by introspection
            raise AttributeError(name)
        module = importlib.import_module(_FROM.get(name, "uvicorn.main"))
        try:
            return getattr(module, name)
        except AttributeError:
            raise AttributeError(f"module 'uvicorn' has no attribute {name!r}") from None


def install() -> None:
    """Register the bare package, unless uvicorn is imported already (or not installed)."""
    if NAME in sys.modules:
        return
    spec = importlib.util.find_spec(NAME)
    if spec is None or spec.submodule_search_locations is None:
        return
    package = _Package(NAME)
    package.__spec__ = spec
    package.__loader__ = spec.loader
    package.__path__ = list(spec.submodule_search_locations)
    package.__file__ = spec.origin
    # What __init__ sets itself; uvicorn.main reads it while it is being imported.
    package.__version__ = metadata.version(NAME)  # type: ignore[attr-defined]
    sys.modules[NAME] = package
