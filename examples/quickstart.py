"""fad in five minutes: derivatives of plain NumPy-style functions, and the programs
(jaxprs) fad records to compute them.

    python examples/quickstart.py
"""
import numpy as np

import fad
import fad.numpy as fnp

print("== Gradients of functions of several variables")
# f(x1, x2, x3) = 3 (x1^2 + x2 x3): value 48 and gradient (12, 12, 9) at (2, 3, 4)
f1 = lambda x1, x2, x3: 3 * (x1 ** 2 + x2 * x3)  # noqa: E731
print("f1(2, 3, 4)          =", f1(2.0, 3.0, 4.0))
print("grad f1 at (2, 3, 4) =", fad.grad(f1, argnums=(0, 1, 2))(2.0, 3.0, 4.0))

# f(x) = sin x1 + x1 x2 + exp(x2 + x3): gradient (1, 1, 1) at 0, in both modes
f2 = lambda x: fnp.sin(x[0]) + x[0] * x[1] + fnp.exp(x[1] + x[2])  # noqa: E731
print("grad f2 at 0 (reverse mode) =", fad.grad(f2)(np.zeros(3)))
print("grad f2 at 0 (forward mode) =", fad.jacfwd(f2)(np.zeros(3)))

print("\n== Higher derivatives, and vmap")
f3 = lambda x: x ** 4 + 3 * x ** 2 + 2 * x  # noqa: E731
print("f3(2)   =", f3(2.0), "  (16 + 12 + 4)")
print("f3'(2)  =", fad.grad(f3)(2.0), "  (4x^3 + 6x + 2)")
print("f3''(2) =", fad.grad(fad.grad(f3))(2.0), "  (12x^2 + 6)")
print("f3' over [1, 2, 3] with vmap =", fad.vmap(fad.grad(f3))(np.array([1.0, 2.0, 3.0])))
print("f3'(2) compiled with jit  =", fad.jit(fad.grad(f3))(2.0))

print("\n== Vector-Jacobian and Jacobian-vector products")
f4 = lambda x: fnp.stack([x ** 2, x ** 3])  # noqa: E731
y, f4_vjp = fad.vjp(f4, 2.0)
print("vjp of [x^2, x^3] at 2 with [1, 1]:", f4_vjp(np.array([1.0, 1.0]))[0])
print("jvp of [x^2, x^3] at 2 with 1:     ", fad.jvp(f4, (2.0,), (1.0,))[1])

print("\n== No perturbation confusion")
print("d/dx [d/dy x*y at y=1] at x=2 =",
      fad.grad(lambda x: fad.grad(lambda y: x * y)(1.0))(2.0))

print("\n== The programs fad records")
def g(x):
    return fnp.sum(fnp.tanh(x) * x)


x = np.linspace(-1.0, 1.0, 3)
print("Forward program (a Wengert list with types):")
print(fad.make_jaxpr(g)(x))
print("\nGradient program (the forward list, then the backward list):")
print(fad.make_jaxpr(fad.grad(g))(x))
