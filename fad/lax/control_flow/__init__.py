"""``fad.lax.control_flow``: the higher-order primitives, whose parameters are programs
(closed jaxprs): ``jit``'s call, ``cond`` and ``switch``, ``scan`` (``map``,
``fori_loop``) and ``while_loop``. Each rule transforms the body
program with the jaxpr-to-jaxpr transformations of ``fad.interpreters.jaxpr_transforms``
and binds the primitive again, so every interpreter passes through them whole."""
from fad.lax.control_flow.call import *  # noqa: F401,F403
from fad.lax.control_flow.cond import *  # noqa: F401,F403
from fad.lax.control_flow.scan import *  # noqa: F401,F403
from fad.lax.control_flow.loops import *  # noqa: F401,F403
from fad.lax.control_flow.remat import *  # noqa: F401,F403
from fad.lax.control_flow.custom import *  # noqa: F401,F403
