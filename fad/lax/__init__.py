"""``fad.lax``: the primitives, each with its rules for every transformation beside it
(``rules.py``: the helpers that declare them; ``plumbing.py``: the primitives those
helpers use, at the bottom; ``fad.extend``: their public surface)."""
from fad.lax.plumbing import *  # noqa: F401,F403
from fad.lax.elementwise import *  # noqa: F401,F403
from fad.lax.elementwise import abs, round  # noqa: F401 - shadow builtins on purpose
from fad.lax.structural import *  # noqa: F401,F403
from fad.lax.reductions import *  # noqa: F401,F403
from fad.lax.dot import *  # noqa: F401,F403
from fad.lax.sort import *  # noqa: F401,F403
from fad.lax.misc import *  # noqa: F401,F403
from fad.lax.indexing import *  # noqa: F401,F403
from fad.lax.logaddexp import *  # noqa: F401,F403
from fad.lax.ufuncs import *  # noqa: F401,F403
from fad.lax.fft import *  # noqa: F401,F403
from fad.lax.special_functions import *  # noqa: F401,F403
from fad.lax.control_flow import *  # noqa: F401,F403
from fad.lax.debug import debug_callback, debug_callback_p  # noqa: F401
from fad.lax import passes_simplify  # noqa: F401 - registers the simplifier's rules
