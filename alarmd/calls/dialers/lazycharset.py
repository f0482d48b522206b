"""charset_normalizer, imported only if requests ever has to guess an answer's encoding.

requests imports it with itself (about 2.4 MB, held all day) for Response.apparent_encoding,
which it reads only when an answer names no charset and is neither text/* nor JSON.
Twilio answers JSON, so the daemon in Twilio mode would carry it for nothing. A stand-in
is registered under its name before requests is imported: requests reads its version and
keeps it as its detector, and the stand-in's first detect() imports the real package.
"""

from __future__ import annotations

import sys
import threading
import types
from importlib import import_module, metadata
from typing import Any

NAME = "charset_normalizer"
_lock = threading.Lock()


class _Standin(types.ModuleType):
    _real: Any = None

    def detect(self, data: Any, *args: Any, **kwargs: Any) -> Any:
        return self.real().detect(data, *args, **kwargs)

    def real(self) -> Any:
        with _lock:
            if self._real is None:
                if sys.modules.get(NAME) is self:
                    del sys.modules[NAME]  # so that the import below finds the package
                self._real = import_module(NAME)
        return self._real


def install() -> None:
    """Register the stand-in, unless the package is imported already (or not installed)."""
    if NAME in sys.modules or "requests" in sys.modules:
        return
    try:
        version = metadata.version(NAME)
    except metadata.PackageNotFoundError:
        return
    standin = _Standin(NAME, __doc__)
    standin.__version__ = version  # type: ignore[attr-defined]  # what requests checks
    sys.modules[NAME] = standin
