"""Model files in the format of ``@elementwise/models`` (format 2), both ways.

``save_tfjs(model, directory)`` writes ``model.json`` + ``weights.bin``, which ``loadModel`` of
``@elementwise/models`` reads, and ``tf.loadLayersModel`` too once ``@elementwise/layers`` is
imported: ``modelTopology`` is the network's tfjs JSON (the same ``toJSON`` Node writes for the
config), ``weightsManifest`` lists every weight by its tfjs name, and ``userDefinedMetadata``
holds ``{elementwise: {formatVersion: 2, config}}``. Weights are float32 little-endian.

``load_tfjs(directory)`` reads such a folder, wherever it was written, with the checks of the
TypeScript loader: the folder may come from anyone, so weight paths must stay in it, sizes must
match what the config needs, and values must be finite.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

from .models import Network, resolve_config

MODEL_FORMAT = "layers-model"
FORMAT_VERSION = 2
GENERATED_BY = "elementwise-torch"
KERAS_VERSION = "tfjs-layers 4.22.0"
#: Largest model.json read (its weights are bounded by the config).
MAX_MODEL_JSON_BYTES = 64 * 1024 * 1024


def _linear(name, units):
    return _layer(name, "Linear", OrderedDict(
        units=units,
        use_bias=True,
        kernel_initializer={"class_name": "VarianceScaling", "config": OrderedDict(scale=1, mode="fan_avg", distribution="uniform", seed=None)},
        bias_initializer={"class_name": "Zeros", "config": {}},
        name=name,
        trainable=True,
    ))


def _layer(name, class_name, config, inbound=None):
    nodes = [] if inbound is None else [[[source, 0, 0, {}] for source in inbound]]
    return OrderedDict(name=name, class_name=class_name, config=config, inbound_nodes=nodes)


def _input(name, shape, dtype):
    return _layer(name, "InputLayer", OrderedDict(batch_input_shape=shape, dtype=dtype, sparse=False, name=name))


def _block_attention(config):
    attention = config["attention"]
    if attention["kind"] == "softmax":
        return OrderedDict(kind="softmax", num_heads=config["numHeads"])
    return OrderedDict(
        kind="ea", order=attention["order"], group_size=attention["groupSize"],
        qk_norm=attention["qkNorm"], qk_bound=attention["qkBound"],
    )


def network_topology(config: dict) -> dict:
    """The tfjs ``modelTopology`` of a config: what ``createModel(config).network.toJSON(null, false)`` gives."""
    c = resolve_config(config)
    task = c["task"]
    layers = []
    if task == "char-lm":
        layers.append(_input("ids", [None, None], "int32"))
        layers.append(_layer("token_embedding", "TokenEmbedding", OrderedDict(
            vocabulary_size=len(c["vocabulary"]) + 1,
            output_dim=c["dModel"],
            embeddings_initializer={"class_name": "RandomNormal", "config": OrderedDict(mean=0, stddev=0.05, seed=None)},
            name="token_embedding",
            trainable=True,
        ), ["ids"]))
        previous, inputs = "token_embedding", [["ids", 0, 0]]
    else:
        layers.append(_input("inputs", [None, None, c["inputChannels"]], "float32"))
        layers.append(_linear("input_embedding", c["dModel"]))
        layers[-1]["inbound_nodes"] = [[["inputs", 0, 0, {}]]]
        previous, inputs = "input_embedding", [["inputs", 0, 0]]
    if c["positional"] == "time":
        times = task == "forecaster"
        if times:
            layers.append(_input("times", [None, None], "float32"))
            inputs.append(["times", 0, 0])
        layers.append(_layer("positional", "ElementwiseTimeEmbedding", OrderedDict(
            max_length=c["maxLength"], dropout=c["dropout"], name="positional", trainable=True,
        ), [previous, "times"] if times else [previous]))
    else:
        positional = OrderedDict(kind=c["positional"], max_length=c["maxLength"], dropout=c["dropout"])
        if c["positional"] == "learned":
            positional["embeddings_initializer"] = {"class_name": "RandomNormal", "config": OrderedDict(mean=0, stddev=0.1, seed=None)}
        positional.update(name="positional", trainable=True)
        layers.append(_layer("positional", "PositionalEmbedding", positional, [previous]))
    previous = "positional"
    causal = task != "sequence-classifier"
    for i in range(c["numLayers"]):
        name = f"block_{i}"
        layers.append(_layer(name, "TransformerBlock", OrderedDict(
            attention=_block_attention(c),
            causal=causal,
            short_conv=c["shortConv"],
            output_gate=c["outputGate"],
            norm=c["norm"],
            ff_multiplier=c["ffMultiplier"],
            activation=c["activation"],
            dropout=c["dropout"],
            recompute=False,
            name=name,
            trainable=True,
        ), [previous]))
        previous = name
    if c["norm"] == "pre":
        layers.append(_layer("final_norm", "LayerNormalization", OrderedDict(
            axis=[2], epsilon=1e-05, center=True, scale=True,
            beta_initializer={"class_name": "Zeros", "config": {}},
            gamma_initializer={"class_name": "Ones", "config": {}},
            beta_regularizer=None, gamma_regularizer=None,
            name="final_norm", trainable=True,
        ), [previous]))
        previous = "final_norm"
    if task == "sequence-classifier":
        layers.append(_layer("pool", "GlobalAveragePooling1D", OrderedDict(name="pool", trainable=True), [previous]))
        previous, units, name = "pool", c["numClasses"], "sequence_classifier"
    elif task == "forecaster":
        layers.append(_layer("last_position", "ElementwiseLastPosition", OrderedDict(name="last_position", trainable=True), [previous]))
        previous, units, name = "last_position", c["horizon"], "forecaster"
    else:
        units, name = len(c["vocabulary"]) + 1, "char_lm"
    head = _linear("head", units)
    head["inbound_nodes"] = [[[previous, 0, 0, {}]]]
    layers.append(head)
    return OrderedDict(
        class_name="Model",
        config=OrderedDict(name=name, layers=layers, input_layers=inputs, output_layers=[["head", 0, 0]]),
        keras_version=KERAS_VERSION,
        backend="tensor_flow.js",
    )


def save_tfjs(model: Network, directory) -> Path:
    """Writes ``directory/model.json`` and ``directory/weights.bin``; returns the directory."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    specs, chunks = [], []
    for name, parameter in model.tfjs_weights():
        values = parameter.detach().to("cpu", torch.float32).contiguous().numpy()
        if not np.isfinite(values).all():
            raise ValueError(f"save_tfjs: weight {name} holds NaN or infinite values")
        specs.append(OrderedDict(name=name, shape=list(values.shape), dtype="float32"))
        chunks.append(values.astype("<f4").tobytes())
    model_json = OrderedDict(
        modelTopology=network_topology(model.config),
        format=MODEL_FORMAT,
        generatedBy=GENERATED_BY,
        convertedBy=None,
        weightsManifest=[OrderedDict(paths=["weights.bin"], weights=specs)],
        userDefinedMetadata={"elementwise": OrderedDict(formatVersion=FORMAT_VERSION, config=model.config)},
    )
    (directory / "weights.bin").write_bytes(b"".join(chunks))
    (directory / "model.json").write_text(json.dumps(model_json, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return directory


def _fail(directory, message):
    raise ValueError(f"load_tfjs({directory}): {message}")


def _weight_path(directory: Path, path) -> Path:
    if not isinstance(path, str) or path == "" or path.startswith("/") or "\\" in path or ".." in path.split("/") or ":" in path:
        _fail(directory, f"weight path {path!r} must stay inside the model's folder")
    full = directory / path
    if full.is_symlink() or not full.is_file():
        _fail(directory, f"weight path {path!r} is not a regular file in the model's folder")
    return full


def load_tfjs(directory, map_location="cpu") -> Network:
    """Reads a folder written by ``saveModel`` of ``@elementwise/models`` or by :func:`save_tfjs`."""
    directory = Path(directory)
    model_file = directory / "model.json"
    if not model_file.is_file():
        _fail(directory, "model.json is missing")
    if model_file.stat().st_size > MAX_MODEL_JSON_BYTES:
        _fail(directory, f"model.json is larger than {MAX_MODEL_JSON_BYTES} bytes")
    model_json = json.loads(model_file.read_text(encoding="utf-8"))
    if model_json.get("format") != MODEL_FORMAT:
        _fail(directory, f"format must be '{MODEL_FORMAT}', got {model_json.get('format')!r}")
    meta = (model_json.get("userDefinedMetadata") or {}).get("elementwise")
    if not isinstance(meta, dict):
        _fail(directory, "userDefinedMetadata.elementwise is missing")
    if meta.get("formatVersion") != FORMAT_VERSION:
        _fail(directory, f"formatVersion must be {FORMAT_VERSION}, got {meta.get('formatVersion')!r}")
    model = Network(meta.get("config"))
    expected = OrderedDict((name, tuple(p.shape)) for name, p in model.tfjs_weights())
    manifest = model_json.get("weightsManifest")
    if not isinstance(manifest, list):
        _fail(directory, "weightsManifest is missing")
    values = {}
    for group in manifest:
        specs = group.get("weights", [])
        need = 0
        for spec in specs:
            name, shape = spec.get("name"), tuple(spec.get("shape", ()))
            if spec.get("dtype", "float32") != "float32" or spec.get("quantization"):
                _fail(directory, f"weight {name} must be unquantized float32")
            if name not in expected:
                _fail(directory, f"unexpected weight {name}")
            if shape != expected[name]:
                _fail(directory, f"weight {name} must have shape {list(expected[name])} for this config, got {list(shape)}")
            if name in values:
                _fail(directory, f"weight {name} appears twice")
            values[name] = None
            need += int(np.prod(shape, dtype=np.int64)) * 4
        data = bytearray()
        for path in group.get("paths", []):
            full = _weight_path(directory, path)
            if len(data) + full.stat().st_size > need:
                _fail(directory, f"weight files hold more bytes than the {need} the weight specs need")
            data += full.read_bytes()
        if len(data) != need:
            _fail(directory, f"weight data has {len(data)} bytes but the weight specs need {need} (truncated weights file?)")
        offset = 0
        for spec in specs:
            count = int(np.prod(spec["shape"], dtype=np.int64))
            array = np.frombuffer(bytes(data[offset : offset + 4 * count]), dtype="<f4").reshape(spec["shape"])
            if not np.isfinite(array).all():
                _fail(directory, f"weight {spec['name']} holds NaN or infinite values")
            values[spec["name"]] = array
            offset += 4 * count
    missing = [name for name in expected if name not in values]
    if missing:
        _fail(directory, f"missing weights: {', '.join(missing)}")
    with torch.no_grad():
        for name, parameter in model.tfjs_weights():
            parameter.copy_(torch.from_numpy(values[name].copy()))
    return model.to(map_location)


__all__ = ["FORMAT_VERSION", "MODEL_FORMAT", "load_tfjs", "network_topology", "save_tfjs"]
