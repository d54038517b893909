"""glibc ``malloc`` setting for the CPU memory measurement.

On CPU the benchmark reads memory from the resident size (RSS). glibc's
default ``malloc`` gives a block its own ``mmap`` (returned to the OS on
``free``) only above a *dynamic* threshold: it starts at 128 KiB and rises
to the size of every freed mmapped block of at most 32 MiB. Once such a
block has been freed, every smaller tensor lives in the heap, and a freed
heap block stays resident until the top of the heap is free. The peak RSS
then counts freed memory that fragmentation keeps in the heap, which holds
no tensor, and it grows from step to step. It also weighs on Win-Win's many
tensors of a few MiB more than on the tensors of full-resolution training,
more of which are above 32 MiB and returned at once. Measured on the Win-Win
2x22^2 step (ViT-B, 1280x720, ``docs/benchmark/memory_work.md``): peak RSS
minus the baseline was 2547 MiB in the first step and 2823 MiB in the
second, while the memory the step holds (every block of 64 KiB or more
returned on ``free``) was 1874 MiB in both.

:func:`return_freed_memory` fixes the threshold at 64 KiB (glibc then stops
moving it), so that the peak RSS counts the memory in use (plus blocks under
64 KiB). Fresh pages cost page faults, so the benchmark times the step in
another process with glibc's defaults. Other C libraries are left alone.
"""
import ctypes
import ctypes.util

M_MMAP_THRESHOLD = -3  # glibc's <malloc.h> parameter number
MEASURE_MMAP_THRESHOLD = 64 * 1024


def return_freed_memory() -> bool:
    """Serve every block of 64 KiB or more with its own ``mmap``, so that
    freeing it returns it to the OS.

    Returns:
        True if the C library took it (glibc), False where it has no
        ``mallopt`` or refused.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c'))
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, MEASURE_MMAP_THRESHOLD) == 1
