"""``RemoteMonitor`` (Keras 3.15): POST each epoch's logs to a server."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import warnings
from typing import Any

import numpy as np

from polykeras.callbacks._utils import is_chief
from polykeras.callbacks.callback import Callback, Logs


class RemoteMonitor(Callback):
    """At each epoch end, POST ``{"epoch": epoch, **logs}`` to ``root + path``:
    as a form field ``field=<json>`` (``application/x-www-form-urlencoded``),
    or as a JSON body with ``send_as_json=True``. An unreachable server gives a
    warning, never a failed ``fit``. Uses the standard library's ``urllib``
    (Keras uses ``requests``; the requests on the wire are the same).

    Args:
        root: the server's root URL.
        path: the path the events go to.
        field: the form field holding the JSON (when not ``send_as_json``).
        headers: optional dict of extra HTTP headers.
        send_as_json: send the logs as the JSON body.

    Example:
        >>> model.fit(x, y, epochs=5, callbacks=[RemoteMonitor(root="http://localhost:9000")])
    """

    def __init__(self, root: str = "http://localhost:9000", path: str = "/publish/epoch/end/",
                 field: str = "data", headers: dict[str, str] | None = None, send_as_json: bool = False) -> None:
        super().__init__()
        self.root = root
        self.path = path
        self.field = field
        self.headers = headers
        self.send_as_json = send_as_json

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if not is_chief():
            return
        send: dict[str, Any] = {"epoch": epoch}
        for key, value in (logs or {}).items():
            send[key] = value.item() if isinstance(value, (np.ndarray, np.generic)) else value
        headers = dict(self.headers or {})
        if self.send_as_json:
            body = json.dumps(send).encode()
            headers.setdefault("Content-Type", "application/json")
        else:
            body = urllib.parse.urlencode({self.field: json.dumps(send)}).encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        request = urllib.request.Request(self.root + self.path, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
        except (urllib.error.URLError, OSError, ValueError) as exc:
            warnings.warn(f"RemoteMonitor: could not reach the root server at {self.root} ({exc}).", stacklevel=2)
