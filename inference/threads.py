"""One BLAS thread in every process that runs the models, set by the core itself.

numpy's OpenBLAS starts a worker per core by default. The input check's nearest-neighbour
product (one 1280-feature row against the reference) needs no second thread, yet that worker
kept spinning after each product and burnt as much CPU as the whole request (issue 26).
LiteRT runs its own threads (the card's `threads`). Pinned here, where the models load, not
only through OPENBLAS_NUM_THREADS, which a deployment can forget.
"""
from __future__ import annotations


def pin_native_threads() -> None:
    """Limit every BLAS and OpenMP library loaded in this process to one thread (persistently).

    OpenCV ships its own OpenBLAS: it is imported first, because the limit reaches only the
    libraries already loaded.
    """
    import cv2  # noqa: F401 - loaded for the limit below, not used here
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
