"""CTC prefix beam search on the host, in NumPy: the protocol's portable
``ctc_beam_search_decode`` (no engine has a kernel with Keras 3's blank and
tie conventions; ``tf.nn.ctc_beam_search_decoder`` fixes the blank last).

A beam is a label prefix with two log-probabilities: the alignments that
end in a blank and those that end in its last label. Each frame extends
every beam by every class (a blank or a repeat of the last label without a
blank between keeps the prefix), prefixes met twice are summed, and the
``beam_width`` most probable prefixes survive. As Keras 3, frame 0 is read
even for a sequence of length 0, and the first frame seeds at most
``beam_width`` classes.

Example:
    >>> paths, scores = beam_search(np.log(probs), np.array([5]), beam_width=4, top_paths=2, blank=0)
"""

from __future__ import annotations

import numpy as np

__all__ = ["beam_search"]


def _logaddexp(a: float, b: float) -> float:
    return float(np.logaddexp(a, b))


def _add(grown: dict[tuple[int, ...], list[float]], prefix: tuple[int, ...], slot: int, value: float) -> None:
    """Sum ``value`` into the blank (slot 0) or label (slot 1) mass of ``prefix``."""
    entry = grown.setdefault(prefix, [-np.inf, -np.inf])
    entry[slot] = _logaddexp(entry[slot], value)


def _decode_one(log_probs: np.ndarray, length: int, beam_width: int, top_paths: int,
                blank: int) -> tuple[list[tuple[int, ...]], list[float]]:
    classes = log_probs.shape[1]
    first = log_probs[0]
    seeds = np.argsort(-first, kind="stable")[:min(classes, beam_width)]
    # prefix -> (log p ending in blank, log p ending in its last label)
    beams: dict[tuple[int, ...], tuple[float, float]] = {}
    for c in seeds:
        c = int(c)
        if c == blank:
            beams[()] = (float(first[c]), -np.inf)
        else:
            beams[(c,)] = (-np.inf, float(first[c]))
    for t in range(1, length):
        frame = log_probs[t]
        grown: dict[tuple[int, ...], list[float]] = {}
        for prefix, (p_blank, p_label) in beams.items():
            both = _logaddexp(p_blank, p_label)
            last = prefix[-1] if prefix else -1
            for c in range(classes):
                lp = float(frame[c])
                if c == blank:
                    _add(grown, prefix, 0, both + lp)
                elif c == last:
                    _add(grown, prefix, 1, p_label + lp)  # the repeat merges into the prefix
                    _add(grown, prefix + (c,), 1, p_blank + lp)  # a blank between: a new label
                else:
                    _add(grown, prefix + (c,), 1, both + lp)
        ranked = sorted(((prefix, scores) for prefix, scores in grown.items()  # impossible prefixes dropped
                         if np.isfinite(_logaddexp(*scores))), key=lambda item: -_logaddexp(*item[1]))
        beams = {prefix: (pb, pl) for prefix, (pb, pl) in ranked[:beam_width]}
    ranked_final = sorted(beams.items(), key=lambda item: -_logaddexp(*item[1]))[:top_paths]
    return [p for p, _ in ranked_final], [_logaddexp(*s) for _, s in ranked_final]


def beam_search(log_probs: np.ndarray, lengths: np.ndarray, beam_width: int, top_paths: int,
                blank: int) -> tuple[np.ndarray, np.ndarray]:
    """Decode ``log_probs`` ``(batch, T, classes)`` (normalised per frame):
    ``paths`` ``(k, batch, T)`` int32 padded with -1 and their log
    probabilities ``(batch, k)``, ``k = min(top_paths, 2 * beam_width)`` as
    Keras 3 (-inf, with a path of -1, where fewer prefixes survive). Example: ``beam_search(lp, lengths, 100, 1, 0)``"""
    batch, steps, _ = log_probs.shape
    top_paths = min(top_paths, 2 * beam_width)  # Keras 3 keeps at most two candidates per beam
    paths = np.full((top_paths, batch, steps), -1, np.int32)
    scores = np.full((batch, top_paths), -np.inf, np.float64)
    for b in range(batch):
        found, found_scores = _decode_one(log_probs[b], int(lengths[b]), beam_width, top_paths, blank)
        for k, (path, score) in enumerate(zip(found, found_scores)):
            paths[k, b, :len(path)] = path
            scores[b, k] = score
    return paths, scores
