"""A software prefetch for kernels that visit scattered rows (numba has none built in).

The eventful rows of a day are a few percent of the population, spread at random; the full day
touches a dozen arrays for each. Asking for those cache lines a few rows ahead lets the memory
system fetch them in parallel instead of one miss at a time.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def prefetch(typingctx, array, index):
    """Hint that ``array[index]`` will be read soon (no effect on results)."""
    if not isinstance(array, types.Array) or not isinstance(index, types.Integer):
        return None
    sig = types.void(array, index)

    def codegen(context, builder, signature, args):
        aryty, idxty = signature.args
        ary = context.make_array(aryty)(context, builder, args[0])
        idx = context.cast(builder, args[1], idxty, types.intp)
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [idx])
        i32, i8p = ir.IntType(32), ir.IntType(8).as_pointer()
        ptr = builder.bitcast(ptr, i8p)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        # the mangled name follows llvmlite's pointer mode (p0i8 typed, p0 opaque)
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch." + i8p.intrinsic_name)
        builder.call(fn, [ptr, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen
