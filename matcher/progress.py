"""Progress bars for jobs with several long stages (one tqdm bar per stage, opened when it starts)."""
from __future__ import annotations

from tqdm.auto import tqdm

#: Stages shorter than this many items show no bar.
MIN_ITEMS = 2048


class StageProgress:
    """``progress(stage, n_done, total)`` updates the bar of ``stage``; a context manager closes them all.

    Parameters
    ----------
    show : bool or None
        ``None`` shows bars on a terminal only.
    labels : dict of str to str
        Label of each stage key.
    """

    def __init__(self, show, labels):
        self.show, self.labels, self.bars = show, labels, {}

    def __call__(self, stage, n_done, total):
        if stage not in self.bars:
            disable = (not self.show) if self.show is not None else None
            self.bars[stage] = tqdm(total=total, desc=self.labels.get(stage, stage), unit="record",
                                    disable=disable or total < MIN_ITEMS)
        self.bars[stage].update(n_done)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for bar in self.bars.values():
            bar.close()
