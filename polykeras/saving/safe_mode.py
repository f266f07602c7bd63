"""Safe mode, under its saving-floor name: every name here is
:mod:`polykeras.safe_mode`'s (one switch, kept low so layers can ask it
without loading saving).

Example:
    >>> from polykeras.saving.safe_mode import safe_mode
    >>> with safe_mode(False):
    ...     model = load_model("trusted.pkeras")
"""

from polykeras.safe_mode import effective, in_safe_mode, safe_mode, set_global_safe_mode

__all__ = ["effective", "in_safe_mode", "safe_mode", "set_global_safe_mode"]
