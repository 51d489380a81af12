"""``nanoflux lmeval``: NanoFlux's benchmark number next to EleutherAI lm-eval's.

Both harnesses ask the same model through one OpenAI-compatible endpoint (a
``llama_cpp.server`` started here for a GGUF, or a server you name), on the same items
under the same protocol; lm-eval reads a task written on local files, offline. Heavy
imports (lm_eval, datasets) happen in a subprocess, only when the command runs.
"""

from __future__ import annotations

from nanoflux.hookspecs import hookimpl


@hookimpl
def register_commands(cli):
    from .command import lmeval_command

    cli.add_command(lmeval_command)
