"""Per-role options and the ``openai:MODEL[@URL]`` spec."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from pydantic import Field

from nanoflux.backends import backend_options
from nanoflux.errors import ConfigError
from nanoflux.records import Record
from nanoflux.secrets import MASK, mask_urls

OPENAI_URL = "https://api.openai.com/v1"
DEFAULT_KEY_ENV = "OPENAI_API_KEY"
# local servers (llama.cpp, vLLM, Ollama, ...) accept any key but the SDK wants one
PLACEHOLDER_KEY = "sk-no-key-required"

StructuredMode = Literal["json_schema", "json_object_schema", "json_object", "text"]


class OpenAIOptions(Record):
    api_key_env: str = Field(
        default=DEFAULT_KEY_ENV,
        min_length=1,
        description="Name of the environment variable holding the API key.",
    )
    concurrency: int = Field(default=8, ge=1, le=1024, description="Requests in flight.")
    timeout: float = Field(default=300.0, gt=0, description="Seconds per HTTP request.")
    max_retries: int = Field(default=8, ge=0, le=100)
    backoff_base: float = Field(default=1.0, gt=0, description="First retry waits ~this.")
    backoff_max: float = Field(default=60.0, gt=0)
    retry_after_max: float = Field(default=120.0, ge=0, description="Cap on Retry-After.")
    structured: Literal["auto", "json_schema", "json_object_schema", "json_object", "text"] = "auto"
    temperature: float | None = Field(default=None, ge=0)
    max_tokens: int | None = Field(default=None, ge=1)
    seed: int | None = None
    token_limit_field: Literal["auto", "max_tokens", "max_completion_tokens"] = "auto"
    extra_body: dict[str, Any] = Field(
        default_factory=dict, description="Server-specific request fields, sent as they are."
    )


@dataclass(frozen=True)
class Endpoint:
    model: str
    base_url: str

    @property
    def is_openai(self) -> bool:
        return urlsplit(self.base_url).hostname == "api.openai.com"

    @property
    def shown_url(self) -> str:
        """The URL as messages, logs and manifests show it: a key in the query masked."""
        return mask_urls(self.base_url)

    def client_url(self) -> tuple[str, dict[str, str]]:
        """The SDK's ``base_url`` and ``default_query``: a query string (``?api-key=``,
        ``?api-version=``) is sent with every request, not glued to the path."""
        parts = urlsplit(self.base_url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        return urlunsplit(parts._replace(query="", fragment="")).rstrip("/"), query


_URL_START = re.compile(r"@(?=https?://)")


def parse_endpoint(rest: str) -> Endpoint:
    """``MODEL`` or ``MODEL@http(s)://host:port/v1`` (split at the last ``@http``)."""
    matches = list(_URL_START.finditer(rest))
    if not matches:
        if "@" in rest and "://" in rest:
            raise ConfigError(
                f"openai:{mask_urls(rest)}: the server after '@' must be an http:// or "
                "https:// URL",
                hint="for example openai:MODEL@http://127.0.0.1:8000/v1",
            )
        return Endpoint(model=rest, base_url=OPENAI_URL)
    at = matches[-1].start()
    model, url = rest[:at], rest[at + 1 :].rstrip("/")
    if not model:
        raise ConfigError(f"openai:{mask_urls(rest)}: the model name before '@' is empty")
    parts = urlsplit(url)
    if not parts.hostname:
        raise ConfigError(f"openai:{mask_urls(rest)}: the URL has no host")
    if parts.username or parts.password:
        raise ConfigError(
            f"openai:{model}@...: credentials in the server URL are not accepted",
            hint="put the key in an environment variable and name it with option api_key_env",
        )
    if f"={MASK}" in parts.query:
        # a spec read back from a run's config.toml, where the key was masked
        raise ConfigError(
            f"openai:{model}@{mask_urls(url)}: the key in the URL was masked when the run "
            "was recorded",
            hint="pass the key in an environment variable named with option api_key_env",
        )
    return Endpoint(model=model, base_url=url)


def parse_options(spec: str, options: dict[str, Any]) -> OpenAIOptions:
    return backend_options(OpenAIOptions, spec, options, "openai")
