"""The classic Hadoop-streaming word count, mapper.py and reducer.py, in one call.

Hadoop streaming's example splits lines on white space in mapper.py, prints
"word<TAB>1" per word, sorts, and sums runs of equal words in reducer.py.
With mpiwc the ranks read, split, count and combine; rank 0 prints:

    mpirun -np 4 python3 wordcount.py corpus/ > counts.tsv
"""
import sys

import mpiwc

counts = mpiwc.count(sys.argv[1:], split="space", case="keep", sort="word")
if counts is not None:  # rank 0
    for word, n in counts.items():
        print(f"{word}\t{n}")
