"""``python -m nanoflux_llamacpp.serve ARGS``: ``llama_cpp.server`` with llama.cpp's CPU
backend loaded first.

The portable build dispatches to a CPU variant library at run time, which
llama-cpp-python never loads by itself (see :mod:`.build`); a bare ``python -m
llama_cpp.server`` then cannot load any model ("no backends are loaded"). Use this module
wherever a llama.cpp server is started for NanoFlux.
"""

from __future__ import annotations

import sys

from .build import load_cpu_backend


def main() -> None:
    load_cpu_backend()  # a build with its CPU code linked in needs nothing: returns None
    from llama_cpp.server.__main__ import main as serve

    sys.argv = ["llama_cpp.server", *sys.argv[1:]]
    serve()


if __name__ == "__main__":
    main()
