"""fad: functional automatic differentiation for NumPy, in the style of JAX.

>>> import fad, fad.numpy as fnp
>>> fad.grad(lambda x: fnp.sin(x) * x)(0.0)
np.float64(0.0)
"""
from fad import lax, tree_util  # noqa: F401
from fad.api import (eval_jaxpr, grad, hessian, jacfwd, jacobian, jacrev, jvp,
                     linear_transpose, linearize, make_jaxpr, stop_gradient, value_and_grad,
                     vjp, vmap)
from fad.api_jacobians import hvp
from fad.api_jit import disable_jit, jit  # noqa: F401
from fad.core.config import config  # noqa: F401
from fad.custom_derivatives import custom_jvp, custom_vjp  # noqa: F401
from fad.checkpoint import checkpoint, checkpoint_policies, remat, saved_residuals  # noqa: F401,E501
from fad.staged import disable_staging  # noqa: F401
from fad.core.ir import ClosedJaxpr, Jaxpr  # noqa: F401
from fad.core.abstract import ShapedArray  # noqa: F401
from fad.core.dtypes import float0  # noqa: F401
from fad import numpy  # noqa: F401,E402  - installs the array methods on tracers
from fad import debug, graph, nn, ops, random, scipy  # noqa: F401,E402
from fad import flatten_util, optimizers  # noqa: F401,E402

from fad.interpreters import debug_checks as _debug_checks  # noqa: E402
from fad.staged import _follow_checks  # noqa: E402
_debug_checks.sync_with_config()   # (FAD_DEBUG_NANS=1 in the environment)
_follow_checks()
del _debug_checks, _follow_checks

__version__ = "0.1.0"
