"""Every primitive fad defines has its rules: batching and JVP for all that take operands
(``iota`` makes an array from nothing), so that no transformation meets a primitive it
cannot process. The per-primitive tests in tests/lax check the rules' values."""

from fad.test_util import all_primitives
from fad.interpreters.batching import batch_rules
from fad.interpreters.jvp import jvp_rules
from fad.staged.calls import InlineCall, RegionMark

NO_OPERANDS = {"iota"}




def test_every_primitive_has_batching_and_jvp_rules():
    prims = all_primitives()
    assert len(prims) > 90
    # (an InlineCall needs no rules: every trace but the staged layer's probe runs its body;
    # nor a RegionMark: never bound, only the probe records one, and it is nested away
    # before any program is made)
    missing = sorted(p.name for p in prims
                     if p.name not in NO_OPERANDS and not isinstance(p, (InlineCall, RegionMark))
                     and (p not in batch_rules or p not in jvp_rules))
    assert not missing, f"primitives without a batching or JVP rule: {missing}"
