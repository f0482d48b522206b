"""Two of requests' imports, made when first used rather than with requests.

requests imports charset_normalizer (about 2.4 MB, held all day) for
Response.apparent_encoding, which it reads only when an answer names no charset and is
neither text/* nor JSON; Twilio answers JSON. It imports idna (its tables, 0.3 MB) only to
alias it as requests.packages.idna; requests and urllib3 encode a host with it only when
the host is not ASCII, and api.twilio.com is. So before requests is imported, a stand-in
is registered under each name: what requests reads at import (charset_normalizer's
version) is set on it, and the first other attribute asked of it imports the real package.
"""

from __future__ import annotations

import sys
import threading
import types
from importlib import import_module, metadata
from typing import Any

# The packages, and what requests reads of each when it is imported.
LAZY = {"charset_normalizer": ("__version__",), "idna": ()}
_lock = threading.Lock()


class _Standin(types.ModuleType):
    _real: Any = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # asked by the import system and by introspection
            raise AttributeError(name)
        return getattr(self.real(), name)

    def real(self) -> Any:
        with _lock:
            if self._real is None:
                if sys.modules.get(self.__name__) is self:
                    del sys.modules[self.__name__]  # so that the import below finds the package
                self._real = import_module(self.__name__)
        return self._real


def install() -> None:
    """Register the stand-ins, unless requests is imported already (or a package is not installed)."""
    if "requests" in sys.modules:
        return
    for name, read_at_import in LAZY.items():
        if name in sys.modules:
            continue
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        standin = _Standin(name, __doc__)
        for attribute in read_at_import:
            setattr(standin, attribute, version)
        sys.modules[name] = standin
