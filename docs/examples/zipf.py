"""Zipf's law on a corpus: frequency against rank, log-log, with matplotlib.

    mpirun -np 4 python3 zipf.py corpus/ zipf.png

Needs python3-matplotlib (not a dependency of mpiwc).
"""
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import mpiwc  # noqa: E402

*paths, png = sys.argv[1:]
frame = mpiwc.count_frame(paths)  # rank 0: every word, by count descending
if frame is not None:
    frame["rank"] = range(1, len(frame) + 1)
    top = frame.iloc[0]
    print(f"{len(frame)} distinct words, {frame['count'].sum()} in all; "
          f"most frequent: {top['word']!r} x {top['count']}")
    ax = frame.plot.scatter(x="rank", y="count", s=2, loglog=True)
    ax.plot(frame["rank"], top["count"] / frame["rank"], color="red", label="count(1) / rank")
    ax.legend()
    ax.set_title("Zipf plot")
    plt.savefig(png, dpi=100)
    print(f"wrote {png}")
