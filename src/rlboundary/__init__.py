"""rlboundary: does RLVR expand a language model's reasoning boundary?

A reproducible study of Yue et al. 2025 (arXiv 2504.13837): sample many
answers per problem from a base and an RL-trained model, verify them, and
compare pass@k at large k. Importing the package does nothing: no logging
set-up, no model or data loading. Start with `rlboundary --help` or the
notebooks under notebooks/.
"""

__version__ = "0.1.0"
