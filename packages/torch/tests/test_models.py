"""Models and model files against @elementwise/models, run by node (scripts/models.mjs)."""

import json
from pathlib import Path

import pytest
import torch
from conftest import REPO, run_node, skip_loudly

from elementwise_torch import ConfigError, create_model, load_tfjs, network_topology, save_tfjs

PRETRAINED = REPO / "packages" / "models" / "pretrained"

CONFIGS = {
    "char LM, EA-6, Post-LN (the paper's block)": {
        "task": "char-lm", "vocabulary": "abcdefgh .,", "dModel": 16, "numHeads": 2, "numLayers": 2,
        "maxLength": 32, "dropout": 0, "attention": {"kind": "ea", "order": 6},
    },
    "char LM, EA-4 groups of 4, Pre-LN, every block option": {
        "task": "char-lm", "vocabulary": "abcdefgh .,", "dModel": 16, "numHeads": 2, "numLayers": 2,
        "maxLength": 32, "dropout": 0, "norm": "pre", "shortConv": 3, "outputGate": True,
        "attention": {"kind": "ea", "order": 4, "groupSize": 4, "qkNorm": "rms", "qkBound": 1.5},
    },
    "char LM, softmax twin, short conv": {
        "task": "char-lm", "vocabulary": "abcdefgh .,", "dModel": 16, "numHeads": 4, "numLayers": 1,
        "maxLength": 32, "dropout": 0, "shortConv": 4, "attention": {"kind": "softmax"},
    },
    "classifier, EA exact, learned positions, relu": {
        "task": "sequence-classifier", "inputChannels": 3, "numClasses": 4, "dModel": 8,
        "numHeads": 2, "numLayers": 2, "maxLength": 20, "positional": "learned",
        "activation": "relu", "attention": {"kind": "ea", "order": "exact"},
    },
    "forecaster, EA-2, time embedding, no feed-forward": {
        "task": "forecaster", "inputChannels": 2, "horizon": 3, "dModel": 8, "numHeads": 2,
        "numLayers": 1, "maxLength": 20, "positional": "time", "ffMultiplier": 0,
        "normalization": {"mean": [1, 2], "std": [3, 4]}, "attention": {"kind": "ea", "order": 2},
    },
}

# Outputs of the torch model (run in float64) against tfjs (float32, cpu backend): the largest
# |difference| may be 1e-5 times the largest |output| (at least 1), i.e. float32 rounding.
LOGIT_TOLERANCE = 1e-5


def max_difference(got, expected):
    """max |got - expected| in units of max(1, max |expected|)."""
    return ((got - expected).abs().max() / max(1.0, expected.abs().max().item())).item()


def node_json(*args):
    return json.loads(run_node("models.mjs", *args))


def inputs_for(config, batch=2, length=12, seed=0):
    generator = torch.Generator().manual_seed(seed)
    if config["task"] == "char-lm":
        ids = torch.randint(0, len(config["vocabulary"]) + 1, (batch, length), generator=generator)
        return {"x": ids.tolist(), "dtype": "int32"}, (ids,)
    x = torch.randn(batch, length, config["inputChannels"], generator=generator)
    payload = {"x": x.tolist(), "dtype": "float32"}
    if config.get("positional") == "time":
        times = torch.cumsum(torch.rand(batch, length, generator=generator) + 0.5, 1) + 100
        payload["times"] = times.tolist()
        return payload, (x, times)
    return payload, (x,)


def torch_outputs(model, args):
    model = model.double().eval()
    with torch.no_grad():
        return model(*(a.double() if a.is_floating_point() else a for a in args))


def randomize(model, seed):
    """Weights away from their initial values (zero biases, unit gains would hide mistakes)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.tfjs_weights():
            noise = torch.randn(parameter.shape, generator=generator) * 0.2
            if name.endswith(("/gain", "/gamma")):
                parameter.copy_(1 + noise)
            elif name.endswith("positional/frequencies") or name.endswith("positional/phases"):
                parameter.add_(noise * 0.1)
            else:
                parameter.copy_(noise)
    return model


def write_inputs(tmp_path, payload):
    path = tmp_path / "inputs.json"
    path.write_text(json.dumps(payload))
    return path


@pytest.mark.parametrize("name", list(CONFIGS))
def test_config_weights_and_topology_equal_what_node_builds(tmp_path, name):
    config = CONFIGS[name]
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    node = node_json("describe", config_file)
    model = create_model(config, seed=0)
    assert model.config == node["config"]
    assert [(n, list(p.shape)) for n, p in model.tfjs_weights()] == [(w["name"], w["shape"]) for w in node["weights"]]
    assert json.loads(json.dumps(network_topology(config))) == node["topology"]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_torch_export_loads_in_node_with_equal_outputs(tmp_path, name):
    config = CONFIGS[name]
    model = randomize(create_model(config, seed=1), seed=2)
    save_tfjs(model, tmp_path / "model")
    payload, args = inputs_for(config)
    inputs = write_inputs(tmp_path, payload)
    expected = torch_outputs(model, args)
    got = torch.tensor(node_json("predict", tmp_path / "model", inputs)["y"], dtype=torch.float64)
    difference = max_difference(got, expected)
    assert difference <= LOGIT_TOLERANCE, f"loadModel outputs differ from torch by {difference:.3g}"
    # tf.loadLayersModel reads the same files through the topology (with @elementwise/layers).
    layers = torch.tensor(node_json("layers-predict", tmp_path / "model", inputs)["y"], dtype=torch.float64)
    difference = max_difference(layers, expected)
    assert difference <= LOGIT_TOLERANCE, f"tf.loadLayersModel outputs differ from torch by {difference:.3g}"


@pytest.mark.parametrize("name", [n for n in CONFIGS if "forecaster" in n or "classifier" in n])
def test_node_saved_model_loads_in_torch_with_equal_outputs(tmp_path, name):
    config = CONFIGS[name]
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    node_json("save", config_file, 7, tmp_path / "model")
    model = load_tfjs(tmp_path / "model")
    payload, args = inputs_for(config, seed=3)
    got = torch.tensor(node_json("predict", tmp_path / "model", write_inputs(tmp_path, payload))["y"], dtype=torch.float64)
    difference = max_difference(got, torch_outputs(model, args))
    assert difference <= LOGIT_TOLERANCE, f"torch outputs differ from node by {difference:.3g}"


PRETRAINED_NAMES = sorted(p.name for p in PRETRAINED.iterdir() if (p / "model.json").is_file()) if PRETRAINED.is_dir() else []


def test_pretrained_models_exist():
    assert len(PRETRAINED_NAMES) >= 2, f"no pretrained models under {PRETRAINED}"


@pytest.mark.parametrize("name", PRETRAINED_NAMES)
def test_pretrained_model_loads_in_torch_with_equal_logits(tmp_path, name):
    folder = PRETRAINED / name
    model = load_tfjs(folder)
    # The novel's first words. Longer inputs show, for the unbounded per-channel EA-6 model, the
    # float32 feature-scale limitation of the tfjs op (README, "Known float32 limitation"):
    # Node's float32 logits then differ from float64 by up to 0.3, torch's float32 ones too.
    text = "Call me Ishmael. Some years ago, never mind how long"
    ids = model.encode(text).unsqueeze(0)
    ids = torch.cat([ids, model.encode(text[::-1]).unsqueeze(0)])
    payload = {"x": ids.tolist(), "dtype": "int32"}
    got = torch.tensor(node_json("predict", folder, write_inputs(tmp_path, payload))["y"], dtype=torch.float64)
    expected = torch_outputs(model, (ids,))
    difference = max_difference(got, expected)
    assert difference <= LOGIT_TOLERANCE, f"{name}: logits differ from node by {difference:.3g} (max |logit| {got.abs().max():.3g})"


def test_load_tfjs_refuses_bad_folders(tmp_path):
    config = CONFIGS["char LM, EA-6, Post-LN (the paper's block)"]
    save_tfjs(create_model(config, seed=0), tmp_path / "ok")
    model_json = json.loads((tmp_path / "ok" / "model.json").read_text())

    def write(name, mutate, weights=None):
        folder = tmp_path / name
        folder.mkdir()
        data = json.loads(json.dumps(model_json))
        mutate(data)
        (folder / "model.json").write_text(json.dumps(data))
        (folder / "weights.bin").write_bytes(weights if weights is not None else (tmp_path / "ok" / "weights.bin").read_bytes())
        return folder

    with pytest.raises(ValueError, match="inside the model's folder"):
        load_tfjs(write("escape", lambda d: d["weightsManifest"][0].update(paths=["../ok/weights.bin"])))
    with pytest.raises(ValueError, match="truncated"):
        load_tfjs(write("short", lambda d: None, weights=b"\0" * 16))
    with pytest.raises(ValueError, match="formatVersion"):
        load_tfjs(write("version", lambda d: d["userDefinedMetadata"]["elementwise"].update(formatVersion=1)))
    with pytest.raises(ValueError, match="must have shape"):
        load_tfjs(write("shape", lambda d: d["weightsManifest"][0]["weights"][0].update(shape=[1, 2])))
    with pytest.raises(ConfigError, match="attention.order"):
        load_tfjs(write("order", lambda d: d["userDefinedMetadata"]["elementwise"]["config"]["attention"].update(order=3)))


RECURRENT = {
    **{n: c for n, c in CONFIGS.items() if "classifier" not in n},
    "char LM, EA exact (keys kept like a KV cache), learned positions": {
        "task": "char-lm", "vocabulary": "abcdefgh .,", "dModel": 8, "numHeads": 2, "numLayers": 1,
        "maxLength": 16, "dropout": 0, "positional": "learned", "attention": {"kind": "ea", "order": "exact"},
    },
}


@pytest.mark.parametrize("name", list(RECURRENT))
def test_prefill_in_pieces_and_single_steps_equal_the_parallel_forward(name):
    """Causal generation is a constant-cost recurrent step: step == parallel forward."""
    config = RECURRENT[name]
    model = randomize(create_model(config, seed=4), seed=5).double().eval()
    _, args = inputs_for(config, batch=2, length=11, seed=6)
    x = args[0] if config["task"] == "char-lm" else args[0].double()
    with torch.no_grad():
        if config.get("positional") == "time":
            full = torch.stack([model(x[:, : i + 1]) for i in range(x.shape[1])], 1)
        else:
            full = model(x)
        outputs, state = model.prefill(x[:, :5])
        pieces = [outputs]
        for i in range(5, x.shape[1]):
            y, state = model.prefill(x[:, i : i + 1], state, start=i)
            pieces.append(y)
    if config["task"] == "forecaster":
        # The forecaster reads the last position: compare the forecast after every prefix.
        got = torch.stack([pieces[0]] + pieces[1:], 1)[:, -(x.shape[1] - 4) :]
        expected = full[:, 4:]
    else:
        got, expected = torch.cat(pieces, 1), full
    assert torch.allclose(got, expected, rtol=1e-10, atol=1e-10), (got - expected).abs().max()


def test_generate_continues_a_prompt_past_max_length():
    model = load_tfjs(PRETRAINED / "char-lm-moby-dick-ea6-g8-conv")
    # 17 + 115 characters pass maxLength = 128: the context slides once.
    text = model.generate("Call me Ishmael. ", 115, temperature=0.8, seed=1)
    assert len(text) == 115 and "\ufffd" not in text
    assert text == model.generate("Call me Ishmael. ", 115, temperature=0.8, seed=1)
    # Greedy decoding of a trained model produces words, not noise.
    greedy = model.generate("The whale", 40, temperature=0)
    assert sum(ch.isalpha() or ch == " " for ch in greedy) >= 35, greedy


def test_models_on_cuda_match_cpu():
    if not torch.cuda.is_available():
        skip_loudly("no CUDA device: the models' CUDA run (same code, device-agnostic) was not tested here")
    for name, config in CONFIGS.items():
        model = randomize(create_model(config, seed=1), seed=2).double().eval()
        _, args = inputs_for(config)
        cpu = torch_outputs(model, args)
        with torch.no_grad():
            gpu = model.cuda()(*(a.double().cuda() if a.is_floating_point() else a.cuda() for a in args))
        assert torch.allclose(cpu, gpu.cpu(), rtol=1e-9, atol=1e-9), name
