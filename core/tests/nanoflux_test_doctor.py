"""A test plugin for ``nanoflux doctor``: one backend that answers, one whose native code
"crashes" (the process kills itself with SIGSEGV mid-completion, as a bad llama.cpp
build does), and one with no offline default model."""

from __future__ import annotations

import os
import signal

from nanoflux.backends import Backend, Completion
from nanoflux.hookspecs import hookimpl


class SteadyBackend(Backend):
    async def complete(self, request):
        return Completion(text='{"answer": 5}', data={"answer": 5}, seconds=0.01)

    def describe(self):
        return {"spec": str(self.spec), "build": {"portable": True, "summary": "steady build"}}


class CrashingBackend(SteadyBackend):
    async def complete(self, request):
        os.kill(os.getpid(), signal.SIGSEGV)

    def describe(self):
        return {"spec": str(self.spec), "build": {"crash_hint": "rebuild the test library"}}


class NativeOnlyBackend(SteadyBackend):
    def describe(self):
        return {
            "spec": str(self.spec),
            "build": {"portable": False, "problem": "built with -march=native", "summary": "?"},
        }


def open_steady(spec):
    return SteadyBackend(spec)


def open_crashing(spec):
    return CrashingBackend(spec)


def open_native(spec):
    return NativeOnlyBackend(spec)


def open_remote(spec):
    raise AssertionError("doctor must not open a backend without an offline default")


open_steady.offline_default = "steady:default"
open_crashing.offline_default = "crashy:default"
open_native.offline_default = "native:default"


@hookimpl
def register_backends(register):
    register("steady", open_steady)
    register("crashy", open_crashing)
    register("native", open_native)
    register("remote", open_remote)
