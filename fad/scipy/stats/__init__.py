"""``fad.scipy.stats``: probability distributions as modules of functions, like
``jax.scipy.stats`` (``norm.logpdf(x, loc, scale)``), with SciPy's parameters and values.

Written with ``fad.numpy`` and ``fad.scipy.special``, they work eagerly and inside every
transformation. Parameters out of range give NaN and points outside the support give
-inf (log densities) as in SciPy; float32 arguments give float32 results (SciPy computes
in float64), as in JAX.
"""
from fad.scipy.stats import (bernoulli, beta, dirichlet, gamma,  # noqa: F401
                             multivariate_normal, norm, poisson, t)
