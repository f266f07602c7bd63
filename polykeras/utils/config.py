"""``Config``: a dict of named values with attribute access, freezing and JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any


class Config:
    """Named values read and set as attributes or items; ``freeze()`` stops
    changes, ``to_json()``/``as_dict()`` export them.

    Example:
        >>> config = Config(learning_rate=0.1)
        >>> config.seed = 123
        >>> config["learning_rate"], config.seed
        (0.1, 123)
    """

    __slots__ = ("_config", "_frozen")

    def __init__(self, **kwargs: Any):
        object.__setattr__(self, "_config", dict(kwargs))
        object.__setattr__(self, "_frozen", False)

    @property
    def frozen(self) -> bool:
        """True after :meth:`freeze`."""
        return self._frozen

    def freeze(self) -> None:
        """Refuse further changes. Example: ``config.freeze()``"""
        object.__setattr__(self, "_frozen", True)

    def unfreeze(self) -> None:
        """Allow changes again. Example: ``config.unfreeze()``"""
        object.__setattr__(self, "_frozen", False)

    def _raise_if_frozen(self) -> None:
        if self._frozen:
            raise ValueError("Cannot mutate attribute(s) because the config is frozen.")

    def as_dict(self) -> dict[str, Any]:
        """A plain dict copy. Example: ``config.as_dict()``"""
        return dict(self._config)

    def to_json(self) -> str:
        """The values as JSON. Example: ``config.to_json()`` -> ``'{"learning_rate": 0.1}'``"""
        return json.dumps(self._config)

    def keys(self) -> Any:
        return self._config.keys()

    def values(self) -> Any:
        return self._config.values()

    def items(self) -> Any:
        return self._config.items()

    def get(self, key: str, default: Any = None) -> Any:
        return self._config.get(key, default)

    def pop(self, *args: Any) -> Any:
        self._raise_if_frozen()
        return self._config.pop(*args)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._raise_if_frozen()
        self._config.update(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._config[name]
        except KeyError:
            raise AttributeError(f"Unknown attribute: '{name}'") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self._raise_if_frozen()
        self._config[name] = value

    def __delattr__(self, name: str) -> None:
        self._raise_if_frozen()
        try:
            del self._config[name]
        except KeyError as error:
            raise AttributeError(f"Unknown attribute: '{name}'") from error

    def __getitem__(self, key: str) -> Any:
        return self._config[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._raise_if_frozen()
        self._config[key] = value

    def __delitem__(self, key: str) -> None:
        self._raise_if_frozen()
        del self._config[key]

    def __contains__(self, key: object) -> bool:
        return key in self._config

    def __iter__(self) -> Iterator[str]:
        return iter(self._config)

    def __len__(self) -> int:
        return len(self._config)

    def __repr__(self) -> str:
        return f"<Config {self._config}>"
