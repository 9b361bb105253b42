"""mpiwc: word-frequency counts from Python over MPI, with mpiwc's engine.

    from mpi4py import MPI
    import mpiwc

    counts = mpiwc.count(["corpus/"], comm=MPI.COMM_WORLD, top=20)
    if counts is not None:          # the root (rank 0) has the dict
        for word, n in counts.items():
            print(word, n)

Run it as any mpi4py program: `mpirun -np 4 python3 script.py`, under
sbatch, or on its own (one rank). The words, their keys and the order are
those of the mpiwc command (man mpiwc): the result never depends on the
number of ranks. Every keyword option is one of the command's, its dashes
written as underscores (memory_limit="256M", ignore_numbers=True).

Calls are collective: every rank of comm makes them, with the same options.
A failure raises MpiwcError with mpiwc's message on every rank, so that no
rank waits for another.

Words are str, decoded from UTF-8 with "surrogateescape": a word of bytes
that are not UTF-8 (the alnum and space rules keep such bytes) is a str
that encodes back to the same bytes.
"""

import ctypes
import os

from mpiwc import _config

__all__ = ["MpiwcError", "command", "count", "count_frame", "version"]


class MpiwcError(Exception):
    """A failed count: the message is mpiwc's, status its exit status (1: an
    input or a disk failed, 2: an option is wrong)."""

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


def _library_path():
    """The installed libmpiwc: MPIWC_LIBRARY if set, else where it lies
    relative to this package (so a DESTDIR or moved prefix works too)."""
    if os.environ.get("MPIWC_LIBRARY"):
        return os.environ["MPIWC_LIBRARY"]
    here = os.path.dirname(os.path.abspath(__file__))
    rel = os.path.relpath(_config.LIBDIR, os.path.join(_config.PYTHONDIR, "mpiwc"))
    return os.path.normpath(os.path.join(here, rel, "libmpiwc.so.0"))


_lib = None


def _load():
    global _lib
    if _lib is not None:
        return _lib
    lib = ctypes.CDLL(_library_path(), mode=ctypes.RTLD_GLOBAL)
    c_void_p, c_char_p, c_int = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    lib.mpiwc_version.restype = c_char_p
    lib.mpiwc_opts_new.restype = c_void_p
    lib.mpiwc_opts_set.argtypes = [c_void_p, c_char_p, c_char_p]
    lib.mpiwc_opts_error.argtypes = [c_void_p]
    lib.mpiwc_opts_error.restype = c_char_p
    lib.mpiwc_opts_free.argtypes = [c_void_p]
    lib.mpiwc_count.argtypes = [c_void_p, ctypes.POINTER(c_char_p), ctypes.c_size_t, c_void_p,
                                ctypes.POINTER(c_void_p)]
    lib.mpiwc_result_error.argtypes = [c_void_p]
    lib.mpiwc_result_error.restype = c_char_p
    lib.mpiwc_result_next.argtypes = [c_void_p, ctypes.POINTER(ctypes.POINTER(ctypes.c_char)),
                                      ctypes.POINTER(ctypes.c_size_t),
                                      ctypes.POINTER(ctypes.c_uint64)]
    lib.mpiwc_result_gather.argtypes = [c_void_p, c_int]
    lib.mpiwc_result_free.argtypes = [c_void_p]
    lib.mpiwc_command.argtypes = [c_void_p, c_int, ctypes.POINTER(c_char_p)]
    _lib = lib
    return lib


def _comm_handle(comm):
    """The C handle (MPI_Comm) of an mpi4py communicator."""
    from mpi4py import MPI
    if comm is None:
        comm = MPI.COMM_WORLD
    return comm, ctypes.c_void_p(MPI._handleof(comm))


def version():
    """The library's version, "MAJOR.MINOR.PATCH"."""
    return _load().mpiwc_version().decode()


def _options(lib, options):
    opts = lib.mpiwc_opts_new()
    if not opts:
        raise MemoryError("mpiwc: out of memory")
    for name, value in options.items():
        if value is None or value is False:
            continue
        arg = None if value is True else str(value).encode()
        if lib.mpiwc_opts_set(opts, name.replace("_", "-").encode(), arg) != 0:
            message = lib.mpiwc_opts_error(opts).decode(errors="replace")
            lib.mpiwc_opts_free(opts)
            raise MpiwcError(message, 2)
    return opts


def _rows(paths, comm, gather, root, options):
    """Count, then read the rows in order: a list of (word, count) on the root
    (every rank's, gather) or on each rank (its own words), None elsewhere."""
    lib = _load()
    comm, handle = _comm_handle(comm)
    if isinstance(paths, (str, bytes, os.PathLike)):
        paths = [paths]
    encoded = [os.fsencode(p) for p in paths]
    argv = (ctypes.c_char_p * max(len(encoded), 1))(*encoded)
    opts = _options(lib, options)
    result = ctypes.c_void_p()
    try:
        status = lib.mpiwc_count(handle, argv, len(encoded), opts, ctypes.byref(result))
        if status == 0 and gather:
            status = lib.mpiwc_result_gather(result, root)
        if status != 0:
            raise MpiwcError(lib.mpiwc_result_error(result).decode(errors="replace"), status)
        if gather and comm.Get_rank() != root:
            return None
        rows = []
        word = ctypes.POINTER(ctypes.c_char)()
        length = ctypes.c_size_t()
        n = ctypes.c_uint64()
        while True:
            rc = lib.mpiwc_result_next(result, ctypes.byref(word), ctypes.byref(length),
                                       ctypes.byref(n))
            if rc <= 0:
                break
            rows.append((ctypes.string_at(word, length.value).decode("utf-8", "surrogateescape"),
                         n.value))
        if rc < 0:
            # Only this rank's stream failed (a spill file read back corrupt):
            # the others finished; the error is raised here, where it happened.
            raise MpiwcError(lib.mpiwc_result_error(result).decode(errors="replace"), 1)
        return rows
    finally:
        lib.mpiwc_result_free(result)
        lib.mpiwc_opts_free(opts)


def _with(options, split, top):
    """The options with split and top. The default split is the command's and
    is not passed on: compat="hadoop" fixes the split, and refuses one given."""
    options = dict(options, top=top)
    if split != "unicode":
        options["split"] = split
    return options


def count(paths, comm=None, split="unicode", top=None, gather=True, root=0, **options):
    """Count the words of paths (files, directories, "-" for standard input)
    over comm (mpi4py, default MPI.COMM_WORLD). Collective.

    Returns a dict {word: count} in the command's order (count descending,
    then word; sort="word" for word order) on root, and None on the other
    ranks; with gather=False, each rank's dict of the words it owns (every
    word is owned by one rank). top=N keeps the first N. Raises MpiwcError on
    every rank when the count fails.
    """
    rows = _rows(paths, comm, gather, root, _with(options, split, top))
    return None if rows is None else dict(rows)


def count_frame(paths, comm=None, split="unicode", top=None, gather=True, root=0, **options):
    """As count(), as a pandas DataFrame with columns word and count, in the
    command's order (None on the ranks that get no words). Needs pandas."""
    import pandas
    rows = _rows(paths, comm, gather, root, _with(options, split, top))
    if rows is None:
        return None
    return pandas.DataFrame(rows, columns=["word", "count"])


def command(argv, comm=None):
    """Run the mpiwc command with argv (its options and paths, without the
    program's name) over comm; returns its exit status. Collective."""
    lib = _load()
    comm, handle = _comm_handle(comm)
    args = [b"mpiwc"] + [os.fsencode(a) for a in argv]
    c_argv = (ctypes.c_char_p * (len(args) + 1))(*args, None)
    return lib.mpiwc_command(handle, len(args), c_argv)
