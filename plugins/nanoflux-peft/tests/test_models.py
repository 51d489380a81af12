"""Model specs: which weights they name, and the errors for the ones that name nothing."""

import json

import pytest
from nanoflux_peft.models import bundled_gguf, parse_ref

from nanoflux.errors import ConfigError


def test_default_is_the_bundled_smollm2_gguf():
    ref = parse_ref("hf:default")
    assert ref.base.gguf_file and ref.base.gguf_file.endswith(".gguf")
    assert (bundled_gguf().parent / ref.base.gguf_file).is_file()
    assert ref.adapter is None and ref.spec == "hf:default"


def test_a_gguf_file_and_a_folder(tiny_model):
    gguf = bundled_gguf()
    ref = parse_ref(f"hf:{gguf}")
    assert ref.base.source == str(gguf.parent) and ref.base.gguf_file == gguf.name
    folder = parse_ref(f"hf:{tiny_model}")
    assert folder.base.source == str(tiny_model) and folder.base.gguf_file is None
    assert folder.base.local


def test_llamacpp_specs_name_the_same_weights_for_training_only():
    train = ("hf", "llamacpp")
    assert parse_ref("llamacpp:smollm2-135m", prefixes=train).base == parse_ref("hf:default").base
    gguf = bundled_gguf()
    assert parse_ref(f"llamacpp:{gguf}", prefixes=train).base == parse_ref(f"hf:{gguf}").base
    with pytest.raises(ConfigError, match="prefix 'llamacpp' is not accepted here"):
        parse_ref("llamacpp:smollm2-135m")
    with pytest.raises(ConfigError, match=r"must be a roster name \(smollm2-135m, qwen2") as caught:
        parse_ref("llamacpp:some-model", prefixes=train)
    assert "nanoflux models list" in caught.value.one_line()


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        ("hf:qwen2.5-coder-0.5b", "qwen2.5-coder-0.5b"),  # the default Defender
        ("llamacpp:qwen2.5-coder-0.5b", "qwen2.5-coder-0.5b"),
        # llamacpp:default is Qwen2.5-Coder-1.5B, not the weights hf:default names
        ("llamacpp:default", "qwen2.5-coder-1.5b"),
    ],
)
def test_a_roster_model_not_pulled_yet_says_how_to_pull_it(spec, name):
    # NANOFLUX_HOME is empty here: the roster's GGUF files are not assembled in it
    with pytest.raises(ConfigError, match="not assembled") as caught:
        parse_ref(spec, prefixes=("hf", "llamacpp"))
    assert f"nanoflux models pull {name}" in caught.value.one_line()


def test_base_plus_adapter(tiny_model, tmp_path):
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    with pytest.raises(ConfigError, match="is not a LoRA adapter folder"):
        parse_ref(f"hf:{tiny_model}+{adapter}")
    (adapter / "adapter_config.json").write_text("{}")
    ref = parse_ref(f"hf:{tiny_model}+{adapter}")
    assert ref.adapter == adapter.resolve() and ref.spec == f"hf:{tiny_model}+{adapter.resolve()}"


def test_a_training_output_folder_names_its_base_and_adapter(tiny_model, tmp_path):
    (tmp_path / "adapter").mkdir()
    (tmp_path / "train_config.json").write_text(json.dumps({"base": str(tiny_model)}))
    ref = parse_ref(f"hf:{tmp_path}")
    assert ref.base.source == str(tiny_model) and ref.adapter == (tmp_path / "adapter").resolve()


def test_missing_paths_are_errors_not_downloads(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        parse_ref(f"hf:{tmp_path}/nothing-here")
    with pytest.raises(ConfigError, match="does not exist"):
        parse_ref("hf:./models/x.gguf")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"has no config\.json"):
        parse_ref(f"hf:{tmp_path / 'empty'}")
    # a name of the form org/model is a Hub id: only because the user wrote one
    assert parse_ref("hf:HuggingFaceTB/SmolLM2-135M-Instruct").base.local is False


def test_unknown_backend_options_are_refused(tiny_model):
    from nanoflux_peft.backend import HFBackend

    from nanoflux.backends import ModelSpec

    with pytest.raises(ConfigError, match=r"unknown option.*n_ctx"):
        HFBackend(ModelSpec.parse(f"hf:{tiny_model}", {"n_ctx": 4096}))
    with pytest.raises(ConfigError, match="structured='grammar'"):
        HFBackend(ModelSpec.parse(f"hf:{tiny_model}", {"structured": "grammar"}))


def test_the_model_cache_stays_small(tiny_model):
    from nanoflux_peft import models

    models.forget_models()
    ref = parse_ref(f"hf:{tiny_model}")
    first = models.load_for_inference(ref, dtype="float32")
    assert models.load_for_inference(ref, dtype="float32") is first  # cached
    models.load_for_inference(ref, dtype="float64")
    models.load_for_inference(ref, dtype="bfloat16")
    assert len(models._models) == models.MAX_CACHED_MODELS
    assert models.load_for_inference(ref, dtype="float32") is not first  # evicted, reloaded


def test_doctor_checks_the_hf_backend_with_the_bundled_model():
    from nanoflux.plugins import PluginHost

    spec = PluginHost.load(allow=["peft"]).backends.get("hf").offline_default
    assert spec == "hf:default"
    assert parse_ref(spec).base.local  # loaded with local_files_only: never a download
