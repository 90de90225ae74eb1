"""A picture of a traced program and of its gradient, with ``fad.graph``.

For f(x1, x2, x3) = 3 (x1^2 + x2 x3) it writes ``function.dot`` (the program fad traces)
and ``graph.dot`` (its gradient: the forward pass in blue, the backward pass in red, the
residuals the backward pass reads from the forward one dashed), and, where Graphviz is
installed, ``function.svg`` and ``graph.svg``:

    python examples/graph_picture.py --out /tmp/pictures
"""
from __future__ import annotations

import argparse
from pathlib import Path

import fad
import fad.graph


def f(x1, x2, x3):
    return 3 * (x1 ** 2 + x2 * x3)


def main(argv=None) -> list[Path]:
    """Write the pictures into ``--out`` (default: the current directory); return the
    paths written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".", help="directory to write into (made if need be)")
    out_dir = Path(parser.parse_args(argv).out)
    out_dir.mkdir(parents=True, exist_ok=True)

    args = (2.0, 3.0, 4.0)
    print("f(2, 3, 4)      =", f(*args))
    print("grad f(2, 3, 4) =", fad.grad(f, argnums=(0, 1, 2))(*args))
    pictures = {"function": fad.graph.to_dot(f, *args),
                "graph": fad.graph.grad_to_dot(f, *args, argnums=(0, 1, 2))}
    written = []
    for stem, text in pictures.items():
        written.append(fad.graph.render(text, out_dir / f"{stem}.dot"))
        print("wrote", written[-1])
        try:
            written.append(fad.graph.render(text, out_dir / f"{stem}.svg"))
            print("wrote", written[-1])
        except RuntimeError as e:   # no Graphviz here: the .dot file is the picture's source
            print(f"no {stem}.svg: {e}")
    return written


if __name__ == "__main__":
    main()
