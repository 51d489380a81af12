"""Credentials in URLs are masked wherever a spec or option is recorded."""

from __future__ import annotations

import pytest

from nanoflux.config import dump_config, validate_config
from nanoflux.secrets import mask_urls, scrub


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("openai:m@http://h:8000/v1?api_key=sk1", "openai:m@http://h:8000/v1?api_key=***"),
        (
            "http://h/v1?api-version=2024&api-key=k&x=1",
            "http://h/v1?api-version=2024&api-key=***&x=1",
        ),
        ("https://h/v1?code=a&sig=b&token=", "https://h/v1?code=a&sig=***&token="),
        ("http://user:pw@h/v1", "http://user:***@h/v1"),
        ("https://ghp_token@h/x", "https://***@h/x"),
        (
            "openai:m@http://u:p@h/v1?key=1 and http://h2/?Auth=2",
            "openai:m@http://u:***@h/v1?key=*** and http://h2/?Auth=***",
        ),
        ("llamacpp:default", "llamacpp:default"),
        ("http://h:1/v1", "http://h:1/v1"),
    ],
)
def test_mask_urls(text, masked):
    assert mask_urls(text) == masked


def test_scrub_masks_urls_in_values_and_keys_and_secret_options():
    recorded = scrub(
        {
            "http://h/v1?api_key=K1": {"spec": "openai:m@http://h/v1?api_key=K2"},
            "options": {"api_key": "K3", "api_key_env": "MY_KEY", "extra": ["http://u:K4@h"]},
        }
    )
    assert "K1" not in str(recorded) and "K2" not in str(recorded)
    assert "K3" not in str(recorded) and "K4" not in str(recorded)
    assert recorded["options"]["api_key_env"] == "MY_KEY"


def test_the_recorded_config_holds_no_key_from_a_url():
    config = validate_config({"attacker": {"spec": "openai:m@http://h:1/v1?api_key=SECRET9"}})
    text = dump_config(config)
    assert "SECRET9" not in text
    assert "openai:m@http://h:1/v1?api_key=***" in text
