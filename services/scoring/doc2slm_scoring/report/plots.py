"""similarity_hist.png: per evaluation set, the cosine histogram of both systems with the thresholds.

One row per set (report order), base and tuned overlaid on the same bins, dashed lines at the
borderline and acceptable thresholds, and the bucket counts written on the plot so the figure can be
read without the tables.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

import matplotlib

# No display on servers and pipeline pods; Agg renders PNG bytes without one.
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from doc2slm_scoring.report.records import SYSTEMS, set_role
from doc2slm_scoring.report.scored import ScoredRecord
from doc2slm_scoring.similarity import (
    ACCEPTABLE,
    BORDERLINE,
    BUCKET_NAMES,
    UNACCEPTABLE,
    Thresholds,
    bucket_counts,
)

DPI = 100
WIDTH_IN = 10.0
HEIGHT_PER_SET_IN = 3.2
BIN_WIDTH = 0.05
COLOURS = {"base": "#7f7f7f", "tuned": "#1f77b4"}
BUCKET_COLOURS = {ACCEPTABLE: "#2ca02c", BORDERLINE: "#e6a700", UNACCEPTABLE: "#d62728"}


def figure_size_px(set_count: int) -> tuple[int, int]:
    """Width and height of the PNG for `set_count` sets (tests and the HTML rely on it)."""
    return round(WIDTH_IN * DPI), round(HEIGHT_PER_SET_IN * max(1, set_count) * DPI)


def _bins(all_cosines: np.ndarray) -> np.ndarray:
    # Cosines of real answers sit in [0, 1]; extend left only when some score is below 0.
    low = min(0.0, math.floor(float(all_cosines.min()) / BIN_WIDTH) * BIN_WIDTH)
    return np.arange(low, 1.0 + BIN_WIDTH / 2, BIN_WIDTH)


def similarity_histogram_png(
    scored_by_set: Mapping[str, Sequence[ScoredRecord]], thresholds: Thresholds
) -> bytes:
    set_names = [name for name, scored in scored_by_set.items() if scored]
    width_px, height_px = figure_size_px(len(set_names))
    figure, axes = plt.subplots(
        nrows=max(1, len(set_names)), ncols=1, figsize=(width_px / DPI, height_px / DPI), dpi=DPI,
        squeeze=False,
    )
    try:
        all_cosines = np.array(
            [item.scores[s].cosine for name in set_names for item in scored_by_set[name] for s in SYSTEMS]
            or [0.0]
        )
        bins = _bins(all_cosines)
        for axis, set_name in zip(axes[:, 0], set_names, strict=False):
            _draw_set(axis, set_name, scored_by_set[set_name], thresholds, bins)
        # Margins in inches, not fractions: the figure grows with the number of sets.
        height_in = height_px / DPI
        figure.subplots_adjust(left=0.07, right=0.76, top=1 - 0.35 / height_in, bottom=0.55 / height_in,
                               hspace=0.5)
        buffer = io.BytesIO()
        # No bbox_inches="tight": the PNG keeps exactly figure_size_px.
        figure.savefig(buffer, format="png", dpi=DPI)
        return buffer.getvalue()
    finally:
        plt.close(figure)


def _draw_set(axis, set_name: str, scored: Sequence[ScoredRecord], thresholds: Thresholds, bins) -> None:  # type: ignore[no-untyped-def]
    # Light bands show the buckets, so a bar's bucket is visible without reading the threshold values.
    axis.axvspan(bins[0], thresholds.borderline, color=BUCKET_COLOURS[UNACCEPTABLE], alpha=0.07)
    axis.axvspan(thresholds.borderline, thresholds.acceptable, color=BUCKET_COLOURS[BORDERLINE], alpha=0.1)
    axis.axvspan(thresholds.acceptable, 1.0, color=BUCKET_COLOURS[ACCEPTABLE], alpha=0.07)
    count_lines = []
    for system in SYSTEMS:
        cosines = np.array([item.scores[system].cosine for item in scored])
        axis.hist(
            cosines, bins=bins, histtype="stepfilled", alpha=0.4, color=COLOURS[system],
            edgecolor=COLOURS[system], linewidth=1.2, label=f"{system} (mean {cosines.mean():.3f})",
        )
        counts = bucket_counts(cosines, thresholds)
        count_lines.append(f"{system}:")
        count_lines += [f"  {counts[b]:>5} {b}" for b in BUCKET_NAMES]
    axis.axvline(thresholds.borderline, color=BUCKET_COLOURS[BORDERLINE], linestyle="--", linewidth=1.2,
                 label=f"borderline >= {thresholds.borderline:g}")
    axis.axvline(thresholds.acceptable, color=BUCKET_COLOURS[ACCEPTABLE], linestyle="--", linewidth=1.2,
                 label=f"acceptable >= {thresholds.acceptable:g}")
    # Legend and counts sit right of the axes so they never hide a bar.
    axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    axis.text(1.02, 0.6, "\n".join(count_lines), transform=axis.transAxes, fontsize=8, va="top",
              family="monospace")
    axis.set_title(f"{set_name} (n={len(scored)}): {set_role(set_name)}", fontsize=10, loc="left")
    axis.set_xlabel("cosine similarity to the reference answer")
    axis.set_ylabel("questions")
    axis.set_xlim(bins[0], 1.0)
    axis.yaxis.set_major_locator(MaxNLocator(integer=True))
