"""``fad.scipy``: the parts of SciPy that numerical code commonly needs, on fad.lax."""
from fad.scipy import special  # noqa: F401
from fad.scipy import linalg  # noqa: F401
from fad.scipy import stats  # noqa: F401
