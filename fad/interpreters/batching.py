"""Vectorisation: the batching interpreter behind ``vmap``.

A ``BatchTracer`` holds a value of the parent level that has one extra axis, ``bdim``,
the batch axis. Values the trace does not own are unbatched (the same for every batch
element), and an operation none of whose inputs is batched goes straight to the parent.
For the others the batching rule of the primitive (``batch_rules``) is run with the parent
as the current trace; it returns the batched result and where its batch axis is, or
``None`` if the result does not depend on the batch element.
"""
from __future__ import annotations

import numpy as np

from fad.core.abstract import ShapedArray, get_aval
from fad.core.trace import BATCHED_VALUE_HELP, Trace, Tracer, _current_trace

# primitive -> rule(args, dims, **params) -> (out, out_dim); ``dims[i]`` is the batch axis
# of ``args[i]`` or ``None`` when it is unbatched. For multiple results both are lists.
batch_rules: dict = {}

# ``batch_axis_at(x, bd, size=None, pos=0)``: ``x`` with its batch axis ``bd`` at ``pos``
# (an unbatched ``x``, ``bd`` None, broadcast along a new axis of ``size``). It binds
# primitives of fad.lax (``transpose``, ``broadcast_in_dim``), which sit above this layer:
# ``fad.lax.plumbing`` installs it here, for the interpreters that move batch axes
# themselves (``jaxpr_transforms.batch_jaxpr``).
batch_axis_at = None

not_mapped = None


class BatchTracer(Tracer):
    __slots__ = ("val", "bdim", "aval")

    def __init__(self, trace, val, bdim: int):
        self._trace = trace
        self.val = val
        self.bdim = bdim
        # The type of one batch element (read by every operation on the tracer): for a
        # NumPy array from a table, as the same few types recur.
        if type(val) is np.ndarray:
            key = (val.shape, val.dtype, bdim)
            aval = _element_avals.get(key)
            if aval is None:
                if len(_element_avals) > 4096:
                    _element_avals.clear()
                aval = _element_avals[key] = _element_aval(get_aval(val), bdim)
            self.aval = aval
        else:
            self.aval = _element_aval(get_aval(val), bdim)


def _element_aval(full, bdim):
    shape = full.shape
    return ShapedArray(shape[:bdim] + shape[bdim + 1:], full.dtype, full.weak_type)


_element_avals: dict = {}


class BatchTrace(Trace):
    name = "BatchTrace"
    __slots__ = ("axis_size",)
    abstract_value_help = BATCHED_VALUE_HELP

    def __init__(self, parent, axis_size: int):
        super().__init__(parent)
        self.axis_size = axis_size

    def process_primitive(self, prim, args, params):
        vals, dims = [], []
        own = False
        for x in args:
            if type(x) is BatchTracer and x._trace is self:
                vals.append(x.val)
                dims.append(x.bdim)
                own = True
            else:
                if isinstance(x, Tracer):
                    self.check_foreign(x)
                vals.append(x)
                dims.append(None)
        if not own:
            return self.parent.process_primitive(prim, args, params)
        rule = batch_rules.get(prim)
        if rule is None:
            raise NotImplementedError(f"fad cannot vmap the primitive '{prim.name}': "
                                      "it has no batching rule")
        token = _current_trace.set(self.parent)
        try:
            out, out_dim = rule(vals, dims, **params)
        finally:
            _current_trace.reset(token)
        if prim.multiple_results:
            return [self.pure_or_tracer(o, d) for o, d in zip(out, out_dim)]
        return self.pure_or_tracer(out, out_dim)

    def pure_or_tracer(self, val, bdim):
        return val if bdim is None else BatchTracer(self, val, bdim)

    def unpack(self, x):
        """``(value, bdim)`` of an output of the vmapped function."""
        if type(x) is BatchTracer and x._trace is self:
            return x.val, x.bdim
        if isinstance(x, Tracer):
            self.check_foreign(x)
        return x, None
