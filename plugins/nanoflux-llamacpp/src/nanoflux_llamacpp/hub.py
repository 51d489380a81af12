"""``llamacpp:hf:REPO/FILE.gguf``: a GGUF from the Hugging Face Hub, through its cache.

A file already in the huggingface_hub cache is used without touching the network. It
is downloaded only when the user named it in a spec and the machine is online (and
``HF_HUB_OFFLINE`` is not set); offline, the error names the file that is missing.
"""

from __future__ import annotations

import re
from pathlib import Path

from nanoflux.errors import ConfigError, clip

EXAMPLE = "llamacpp:hf:Qwen/Qwen2.5-1.5B-Instruct-GGUF/qwen2.5-1.5b-instruct-q4_k_m.gguf"
# the Hub's rule for owner and repository names: letters, digits, '-', '_', '.', at
# most 96 characters, not starting or ending with '-' or '.', no '--' or '..'
_HUB_NAME = re.compile(r"^(?![-.])(?!.*(?:--|\.\.))[A-Za-z0-9_.-]{1,96}(?<![-.])$")


def split_hub_name(name: str) -> tuple[str, str]:
    """``owner/repo/path/in/repo.gguf`` -> (``owner/repo``, ``path/in/repo.gguf``); a
    part the Hub would refuse (``..``, a backslash, an empty folder) is refused here."""
    owner, _, rest = name.partition("/")
    repo, _, filename = rest.partition("/")
    if not owner or not repo or not filename.endswith(".gguf"):
        raise ConfigError(
            f"llamacpp:hf:{clip(name)}: expected hf:OWNER/REPO/FILE.gguf",
            hint=f"for example {EXAMPLE}",
        )
    for what, part in (("owner", owner), ("repository", repo)):
        if not _HUB_NAME.match(part):
            raise ConfigError(
                f"llamacpp:hf:{clip(name)}: {clip(repr(part))} is not a Hugging Face {what} "
                "name (letters, digits, '-', '_', '.'; at most 96)",
                hint=f"for example {EXAMPLE}",
            )
    folders = filename.split("/")
    if "\\" in filename or any(f in ("", ".", "..") for f in folders) or len(filename) > 255:
        raise ConfigError(
            f"llamacpp:hf:{clip(name)}: {clip(repr(filename))} is not a file path inside a "
            "repository",
            hint=f"for example {EXAMPLE}",
        )
    return f"{owner}/{repo}", filename


def hub_file(name: str) -> Path:
    repo_id, filename = split_hub_name(name)
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError:
        raise ConfigError(
            f"llamacpp:hf:{clip(name)} needs the huggingface_hub package",
            hint="pip install huggingface_hub",
        ) from None
    try:
        return Path(hf_hub_download(repo_id, filename, local_files_only=True))
    except LocalEntryNotFoundError:
        pass  # not cached: the user named it, so fetch it if we can
    except Exception as exc:  # a name the Hub library refuses, an unreadable cache
        raise cannot_get(name, repo_id, filename, exc) from None
    try:
        return Path(hf_hub_download(repo_id, filename))
    except LocalEntryNotFoundError:  # offline, or HF_HUB_OFFLINE=1
        raise ConfigError(
            f"llamacpp:hf:{clip(name)}: {filename} from {repo_id} is not in the huggingface_hub "
            "cache and cannot be downloaded (offline)",
            hint="download it once while online, or use a local path or `nanoflux models list`",
        ) from None
    except Exception as exc:  # repository or file not found, auth, network errors
        raise cannot_get(name, repo_id, filename, exc) from None


def cannot_get(name: str, repo_id: str, filename: str, exc: Exception) -> ConfigError:
    first = str(exc).splitlines()[0] if str(exc) else ""
    return ConfigError(
        f"llamacpp:hf:{clip(name)}: cannot get {filename} from {repo_id}: "
        f"{type(exc).__name__}: {clip(first, 200)}"
    )
