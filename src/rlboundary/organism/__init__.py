"""The model organism: tiny models trained here on an exactly verifiable task.

    from rlboundary.organism import ensure_organism
    models = ensure_organism("default", seed=0)   # {name: path}, built on first use

See build.py for the stages, task.py for the task, validity.py for the
trace-validity and guessability analyses. Importing this package loads
nothing heavy.
"""

from .build import build_organism, ensure_organism, load_organism

__all__ = ["build_organism", "ensure_organism", "load_organism"]
