"""The models of ``@elementwise/models`` in PyTorch: same configs, same weight names, same maths.

A config is the JSON object ``@elementwise/models`` stores in ``model.json``
(``userDefinedMetadata.elementwise.config``)::

    {"task": "char-lm", "vocabulary": "abc…", "dModel": 128, "numHeads": 4, "numLayers": 3,
     "maxLength": 128, "shortConv": 4, "attention": {"kind": "ea", "order": 6, "groupSize": 8}}

:func:`create_model` builds the network (``ids [B, L] -> logits [B, L, V + 1]`` for the char LM,
``x [B, L, C] -> logits [B, classes]`` for the classifier, ``x [B, L, C] -> [B, horizon]`` for the
forecaster, in normalized units), and :meth:`Network.tfjs_weights` names every parameter as the
tfjs model does (``block_0/query/kernel`` is ``[in, out]``: ``y = x @ kernel + bias``).
Blocks are Post-LN (the paper) or Pre-LN with a final LayerNorm, eps 1e-5, GELU in its tanh
approximation; attention is EA (:func:`elementwise_torch.elementwise_attention`) or softmax
multi-head attention, with the options short convolution (causal depthwise, SiLU), output gate
(silu), qkNorm (RMS with gains) and qkBound (b tanh(x / b)).
Padding masks are not supported by these models (nor used by the tfjs networks' ``predict``).
"""

from __future__ import annotations

import copy
import math
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from .ops import check_order, elementwise_attention, state_features

TASKS = ("char-lm", "sequence-classifier", "forecaster")
BACKBONE_FIELDS = (
    "dModel", "numHeads", "numLayers", "ffMultiplier", "activation", "dropout", "norm",
    "positional", "shortConv", "outputGate", "maxLength", "attention",
)
TASK_FIELDS = {
    "char-lm": ("task", "vocabulary"),
    "sequence-classifier": ("task", "inputChannels", "numClasses", "classNames"),
    "forecaster": ("task", "inputChannels", "horizon", "normalization"),
}
EPSILON = 1e-5


class ConfigError(ValueError):
    """A config field is missing, unknown or has a wrong value (the message names it)."""


def _require(condition, message):
    if not condition:
        raise ConfigError(f"config.{message}")


def _int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def resolve_config(config: dict) -> dict:
    """Checks a config and fills in the defaults, as ``resolveConfig`` of ``@elementwise/models``."""
    if not isinstance(config, dict):
        raise ConfigError(f"config must be a dict, got {type(config).__name__}")
    task = config.get("task")
    _require(task in TASKS, f"task must be one of {', '.join(TASKS)}, got {task!r}")
    unknown = [key for key in config if key not in BACKBONE_FIELDS + TASK_FIELDS[task]]
    _require(not unknown, f"{unknown[0] if unknown else ''} is not a field of a {task} config")
    c = config
    for field in ("dModel", "numHeads", "numLayers", "maxLength"):
        _require(_int(c.get(field)) and c[field] >= 1, f"{field} must be an integer >= 1, got {c.get(field)!r}")
    resolved = OrderedDict(
        dModel=c["dModel"],
        numHeads=c["numHeads"],
        numLayers=c["numLayers"],
        ffMultiplier=c.get("ffMultiplier", 4),
        activation=c.get("activation", "gelu"),
        dropout=c.get("dropout", 0.1),
        norm=c.get("norm", "post"),
        positional=c.get("positional", "sinusoidal"),
        shortConv=c.get("shortConv", 0),
        outputGate=c.get("outputGate", False),
        maxLength=c["maxLength"],
    )
    _require(resolved["activation"] in ("gelu", "relu"), f"activation must be 'gelu' or 'relu', got {resolved['activation']!r}")
    _require(resolved["norm"] in ("post", "pre"), f"norm must be 'post' or 'pre', got {resolved['norm']!r}")
    _require(resolved["positional"] in ("sinusoidal", "learned", "time"), f"positional must be 'sinusoidal', 'learned' or 'time', got {resolved['positional']!r}")
    _require(resolved["shortConv"] == 0 or (_int(resolved["shortConv"]) and 2 <= resolved["shortConv"] <= 16), f"shortConv must be 0 or an integer from 2 to 16, got {resolved['shortConv']!r}")
    _require(isinstance(resolved["dropout"], (int, float)) and 0 <= resolved["dropout"] < 1, f"dropout must be in [0, 1), got {resolved['dropout']!r}")
    attention = c.get("attention")
    _require(isinstance(attention, dict) and attention.get("kind") in ("ea", "softmax"), f"attention must be {{kind: 'ea', ...}} or {{kind: 'softmax'}}, got {attention!r}")
    if attention["kind"] == "softmax":
        _require(resolved["dModel"] % resolved["numHeads"] == 0, f"numHeads must divide dModel = {resolved['dModel']}")
        resolved["attention"] = {"kind": "softmax"}
    else:
        order = attention.get("order", 6)
        try:
            check_order(order)
        except ValueError as error:
            raise ConfigError(f"config.attention.{error}") from None
        group = attention.get("groupSize", 1)
        _require(_int(group) and group >= 1 and resolved["dModel"] % group == 0, f"attention.groupSize must divide dModel = {resolved['dModel']}, got {group!r}")
        resolved["attention"] = OrderedDict(
            kind="ea", order=order, qkNorm=attention.get("qkNorm", "none"),
            qkBound=attention.get("qkBound", 0), groupSize=group,
        )
    resolved["task"] = task
    for field in TASK_FIELDS[task][1:]:
        if field in c:
            resolved[field] = copy.deepcopy(c[field])
    if task == "char-lm":
        _require(isinstance(c.get("vocabulary"), str) and len(c["vocabulary"]) > 0, "vocabulary must be a non-empty string")
    else:
        _require(_int(c.get("inputChannels")) and c["inputChannels"] >= 1, "inputChannels must be an integer >= 1")
        size = "numClasses" if task == "sequence-classifier" else "horizon"
        _require(_int(c.get(size)) and c[size] >= 1, f"{size} must be an integer >= 1")
    return dict(resolved)


def _gelu(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def _layer_norm(x, gain, bias):
    mean = x.mean(-1, keepdim=True)
    variance = (x - mean).square().mean(-1, keepdim=True)
    return (x - mean) * torch.rsqrt(variance + EPSILON) * gain + bias


def _glorot(fan_in, fan_out):
    limit = math.sqrt(6 / (fan_in + fan_out))
    return nn.Parameter(torch.empty(fan_in, fan_out).uniform_(-limit, limit))


def _zeros(*shape):
    return nn.Parameter(torch.zeros(*shape))


def _ones(*shape):
    return nn.Parameter(torch.ones(*shape))


class _Weights(nn.Module):
    """Parameters kept under their tfjs names (``query/kernel``), in tfjs order."""

    def __init__(self):
        super().__init__()
        self._order = []

    def add(self, name, parameter):
        self.register_parameter(name.replace("/", "__"), parameter)
        self._order.append(name)
        return parameter

    def __getitem__(self, name):
        return getattr(self, name.replace("/", "__"))

    def __contains__(self, name):
        return name in self._order

    def items(self):
        return [(name, self[name]) for name in self._order]


def sinusoidal_table(start, length, channels, dtype=torch.float32, device=None):
    """sin on even channels, cos on odd ones (``sinusoidalTable`` of ``@elementwise/layers``)."""
    position = torch.arange(start, start + length, dtype=torch.float64, device=device).unsqueeze(1)
    channel = torch.arange(channels, device=device)
    frequency = 1 / 10000 ** ((2 * torch.div(channel, 2, rounding_mode="floor")).double() / channels)
    angle = position * frequency
    table = torch.where(channel % 2 == 0, torch.sin(angle), torch.cos(angle))
    return table.to(dtype)


class Attention(nn.Module):
    """Self-attention of one block: EA or softmax, with the block options."""

    def __init__(self, config, causal):
        super().__init__()
        d = config["dModel"]
        self.attention = config["attention"]
        self.causal = causal
        self.heads = config["numHeads"]
        self.short_conv = config["shortConv"]
        self.w = _Weights()
        for name in ("query", "key", "value", "output"):
            self.w.add(f"{name}/kernel", _glorot(d, d))
            self.w.add(f"{name}/bias", _zeros(d))
        if self.short_conv:
            limit = 1 / math.sqrt(self.short_conv)
            for name in ("query", "key", "value"):
                self.w.add(f"{name}_conv/kernel", nn.Parameter(torch.empty(self.short_conv, d).uniform_(-limit, limit)))
                self.w.add(f"{name}_conv/bias", _zeros(d))
        self.gated = config["outputGate"]
        if self.gated:
            self.w.add("gate/kernel", _glorot(d, d))
            self.w.add("gate/bias", _zeros(d))
        if self.attention["kind"] == "ea" and self.attention["qkNorm"] == "rms":
            self.w.add("query_norm/gain", _ones(d))
            self.w.add("key_norm/gain", _ones(d))

    def project(self, name, x):
        return x @ self.w[f"{name}/kernel"] + self.w[f"{name}/bias"]

    def convolve(self, name, x, window=None):
        """Causal depthwise convolution + SiLU after ``window`` [B, size - 1, C] (zeros at the start)."""
        kernel = self.w[f"{name}_conv/kernel"]  # [size, C]
        size = kernel.shape[0]
        if window is None:
            window = x.new_zeros(x.shape[0], size - 1, x.shape[2])
        padded = torch.cat([window, x], 1)
        length = x.shape[1]
        total = self.w[f"{name}_conv/bias"]
        for i in range(size):
            total = total + padded[:, i : i + length] * kernel[i]
        return F.silu(total), padded[:, length:]

    def forward(self, x, state=None):
        """y for x [B, L, D]; with ``state`` (a dict, {} at the start) also the state after x."""
        stateful = state is not None
        state = state or {}
        after = {}
        q, k, v = (self.project(name, x) for name in ("query", "key", "value"))
        if self.short_conv:
            convolved = []
            for name, t in (("query", q), ("key", k), ("value", v)):
                y, after[f"{name}_window"] = self.convolve(name, t, state.get(f"{name}_window"))
                convolved.append(y)
            q, k, v = convolved
        if self.attention["kind"] == "ea":
            if "query_norm/gain" in self.w:
                rms = lambda t, gain: t * torch.rsqrt(t.square().mean(-1, keepdim=True) + EPSILON) * gain  # noqa: E731
                q, k = rms(q, self.w["query_norm/gain"]), rms(k, self.w["key_norm/gain"])
            bound = self.attention["qkBound"]
            if bound > 0:
                q, k = bound * torch.tanh(q / bound), bound * torch.tanh(k / bound)
            options = dict(order=self.attention["order"], causal=self.causal, group_size=self.attention["groupSize"])
            if stateful and self.attention["order"] != "exact":
                attended, after["ea"] = elementwise_attention(
                    q, k, v, initial_state=state.get("ea"), return_final_state=True, **options
                )
            elif stateful:
                # Exact EA has no finite state: keep every key and value, like a KV cache.
                keys = torch.cat([state["keys"], k], 1) if "keys" in state else k
                values = torch.cat([state["values"], v], 1) if "values" in state else v
                after["keys"], after["values"] = keys, values
                attended = self.exact_after(q, keys, values)
            else:
                attended = elementwise_attention(q, k, v, **options)
        else:
            keys = torch.cat([state["keys"], k], 1) if "keys" in state else k
            values = torch.cat([state["values"], v], 1) if "values" in state else v
            if stateful:
                after["keys"], after["values"] = keys, values
            attended = self.softmax(q, keys, values)
        if self.gated:
            attended = attended * F.silu(self.project("gate", x))
        y = self.project("output", attended)
        return (y, after) if stateful else y

    def exact_after(self, q, keys, values):
        """Causal exact EA of the last Lq queries over all keys so far."""
        offset = keys.shape[1] - q.shape[1]
        rows = [
            elementwise_attention(q[:, i : i + 1], keys[:, : offset + i + 1], values[:, : offset + i + 1], order="exact")
            for i in range(q.shape[1])
        ]
        return torch.cat(rows, 1)

    def softmax(self, q, k, v):
        """Multi-head softmax attention; queries are the last Lq positions of the Lk keys."""
        batch, queries, channels = q.shape
        keys = k.shape[1]
        depth = channels // self.heads
        split = lambda t: t.reshape(batch, -1, self.heads, depth).transpose(1, 2)  # noqa: E731
        q, k, v = split(q), split(k), split(v)
        scores = (q / math.sqrt(depth)) @ k.transpose(-1, -2)
        if self.causal:
            hidden = torch.ones(queries, keys, dtype=torch.bool, device=q.device).triu(keys - queries + 1)
            scores = scores.masked_fill(hidden, -1e9)
        y = torch.softmax(scores, -1) @ v
        return y.transpose(1, 2).reshape(batch, queries, channels)


class Block(nn.Module):
    """``TransformerBlock`` of ``@elementwise/layers``."""

    def __init__(self, config, causal):
        super().__init__()
        d = config["dModel"]
        self.attn = Attention(config, causal)
        self.norm = config["norm"]
        self.activation = config["activation"]
        self.drop = nn.Dropout(config["dropout"])
        self.w = _Weights()
        self.w.add("attention_norm/gain", _ones(d))
        self.w.add("attention_norm/bias", _zeros(d))
        hidden = round(d * config["ffMultiplier"])
        self.has_ff = hidden > 0
        if self.has_ff:
            self.w.add("feed_forward/expand/kernel", _glorot(d, hidden))
            self.w.add("feed_forward/expand/bias", _zeros(hidden))
            self.w.add("feed_forward/contract/kernel", _glorot(hidden, d))
            self.w.add("feed_forward/contract/bias", _zeros(d))
            self.w.add("feed_forward_norm/gain", _ones(d))
            self.w.add("feed_forward_norm/bias", _zeros(d))

    def ln(self, name, x):
        return _layer_norm(x, self.w[f"{name}/gain"], self.w[f"{name}/bias"])

    def feed_forward(self, x):
        h = x @ self.w["feed_forward/expand/kernel"] + self.w["feed_forward/expand/bias"]
        h = _gelu(h) if self.activation == "gelu" else F.relu(h)
        return self.drop(h) @ self.w["feed_forward/contract/kernel"] + self.w["feed_forward/contract/bias"]

    def forward(self, x, state=None):
        stateful = state is not None
        after = None

        def attend(h):
            nonlocal after
            if not stateful:
                return self.attn(h)
            y, after = self.attn(h, state)
            return y

        if self.norm == "post":
            h = self.ln("attention_norm", x + self.drop(attend(x)))
            if self.has_ff:
                h = self.ln("feed_forward_norm", h + self.drop(self.feed_forward(h)))
        else:
            h = x + self.drop(attend(self.ln("attention_norm", x)))
            if self.has_ff:
                h = h + self.drop(self.feed_forward(self.ln("feed_forward_norm", h)))
        return (h, after) if stateful else h

    def tfjs_weights(self, prefix):
        return [(f"{prefix}/{n}", p) for n, p in self.attn.w.items() + self.w.items()]


class Network(nn.Module):
    """The tf.LayersModel of a config, in PyTorch (see the module docstring)."""

    def __init__(self, config: dict):
        super().__init__()
        self.config = resolve_config(config)
        c = self.config
        d = c["dModel"]
        self.task = c["task"]
        causal = self.task != "sequence-classifier"
        self.w = _Weights()
        if self.task == "char-lm":
            self.vocabulary_size = len(c["vocabulary"]) + 1
            self.w.add("token_embedding/embeddings", nn.Parameter(torch.randn(self.vocabulary_size, d) * 0.05))
        else:
            self.w.add("input_embedding/kernel", _glorot(c["inputChannels"], d))
            self.w.add("input_embedding/bias", _zeros(d))
        if c["positional"] == "learned":
            self.w.add("positional/embeddings", nn.Parameter(torch.randn(c["maxLength"], d) * 0.1))
        elif c["positional"] == "time":
            channel = torch.arange(d)
            frequency = 1 / 10000 ** ((2 * torch.div(channel, 2, rounding_mode="floor")).double() / d)
            frequency[0] = 1 / c["maxLength"]
            phase = torch.where(channel % 2 == 1, torch.tensor(math.pi / 2), torch.tensor(0.0))
            self.w.add("positional/frequencies", nn.Parameter(frequency.float()))
            self.w.add("positional/phases", nn.Parameter(phase.float()))
        self.embedding_drop = nn.Dropout(c["dropout"])
        self.blocks = nn.ModuleList(Block(c, causal) for _ in range(c["numLayers"]))
        self.tail = _Weights()
        if c["norm"] == "pre":
            self.tail.add("final_norm/gamma", _ones(d))
            self.tail.add("final_norm/beta", _zeros(d))
        outputs = {"char-lm": getattr(self, "vocabulary_size", 0), "sequence-classifier": c.get("numClasses"), "forecaster": c.get("horizon")}[self.task]
        self.tail.add("head/kernel", _glorot(d, outputs))
        self.tail.add("head/bias", _zeros(outputs))

    def forward(self, x, times=None):
        """The network's outputs for x (ids [B, L] or x [B, L, C]; forecaster: optional times [B, L])."""
        return self._run(x, times, None, 0)[0]

    def _run(self, x, times, state, start):
        c = self.config
        if self.task == "char-lm":
            if x.dtype.is_floating_point:
                raise TypeError("a char LM takes integer ids [B, L]")
            table = self.w["token_embedding/embeddings"]
            # One-hot times the table, as tfjs does: ids outside [0, V) embed as zeros.
            inside = (x >= 0) & (x < table.shape[0])
            h = table[x.clamp(0, table.shape[0] - 1)] * inside.unsqueeze(-1)
        else:
            h = x @ self.w["input_embedding/kernel"] + self.w["input_embedding/bias"]
        length = h.shape[1]
        if start + length > c["maxLength"] and c["positional"] != "time":
            raise ValueError(f"positions {start} .. {start + length - 1} do not exist: maxLength is {c['maxLength']}")
        if c["positional"] == "sinusoidal":
            h = h + sinusoidal_table(start, length, c["dModel"], h.dtype, h.device)
        elif c["positional"] == "learned":
            h = h + self.w["positional/embeddings"][start : start + length]
        else:
            if times is None:
                tau = torch.arange(start, start + length, dtype=h.dtype, device=h.device).view(1, -1, 1)
            else:
                tau = (times - times[:, :1]).unsqueeze(-1).to(h.dtype)
            angles = tau * self.w["positional/frequencies"] + self.w["positional/phases"]
            h = h + torch.cat([angles[..., :1], torch.sin(angles[..., 1:])], -1)
        h = self.embedding_drop(h)
        after = None if state is None else []
        for i, block in enumerate(self.blocks):
            if state is None:
                h = block(h)
            else:
                h, block_state = block(h, state[i])
                after.append(block_state)
        if c["norm"] == "pre":
            h = F.layer_norm(h, (c["dModel"],), self.tail["final_norm/gamma"], self.tail["final_norm/beta"], EPSILON)
        if self.task == "sequence-classifier":
            h = h.mean(1)
        elif self.task == "forecaster":
            h = h[:, -1]
        return h @ self.tail["head/kernel"] + self.tail["head/bias"], after

    # Recurrent use (causal models) ------------------------------------------------------------
    def prefill(self, x, state=None, start=0):
        """Outputs for positions ``start .. start + L - 1`` after ``state`` (None: the start), and
        the state after them: EA moments (O(t D) per layer, whatever the position), convolution
        windows, and the keys and values of softmax and exact-EA layers. Prefilling a sequence in
        pieces gives the outputs of one parallel call."""
        if self.task == "sequence-classifier":
            raise ValueError("a sequence classifier is not causal: it has no recurrent form")
        state = [{} for _ in self.blocks] if state is None else state
        return self._run(x, None, state, start)

    @torch.no_grad()
    def generate(self, prompt: str, max_tokens: int, temperature: float = 1.0, seed: int | None = None) -> str:
        """Continues ``prompt`` by ``max_tokens`` characters (char LM): the prompt is prefilled in
        parallel, then each character costs one recurrent step. When a position would reach
        maxLength the context slides as in ``@elementwise/models`` (the last maxLength // 2
        characters are prefilled again from position 0). The id 0 (unknown) is never sampled.
        Samples differ from Node's (another random generator)."""
        if self.task != "char-lm":
            raise ValueError("generate needs a char LM")
        device = self.tail["head/bias"].device
        generator = torch.Generator(device="cpu")
        if seed is not None:
            generator.manual_seed(seed)
        limit = self.config["maxLength"]
        context = self.encode(prompt).tolist()[-limit:] or [0]
        logits, state = self.prefill(torch.tensor([context], device=device))
        position = len(context)
        out = []
        for _ in range(max_tokens):
            last = logits[0, -1].double().cpu()
            last[0] = -math.inf
            if temperature == 0:
                token = int(last.argmax())
            else:
                token = int(torch.multinomial(torch.softmax(last / temperature, -1), 1, generator=generator))
            out.append(token)
            if position >= limit:
                context = context[-max(1, limit // 2) :] + [token]
                logits, state = self.prefill(torch.tensor([context], device=device))
                position = len(context)
            else:
                context.append(token)
                logits, state = self.prefill(torch.tensor([[token]], device=device), state, position)
                position += 1
        return self.decode(out)

    def tfjs_weights(self):
        """``(tfjs name, parameter)`` of every weight, in the order ``@elementwise/models`` lists them."""
        named = list(self.w.items())
        for i, block in enumerate(self.blocks):
            named += block.tfjs_weights(f"block_{i}")
        return named + list(self.tail.items())

    # Char LM helpers -------------------------------------------------------------------------
    def encode(self, text: str) -> torch.Tensor:
        """Characters to ids (id i + 1 for the vocabulary's character i, 0 for any other)."""
        ids = {ch: i + 1 for i, ch in enumerate(self.config["vocabulary"])}
        return torch.tensor([ids.get(ch, 0) for ch in text], dtype=torch.long)

    def decode(self, ids) -> str:
        vocabulary = self.config["vocabulary"]
        return "".join("\ufffd" if int(i) == 0 else vocabulary[int(i) - 1] for i in ids)


def create_model(config: dict, seed: int | None = None) -> Network:
    """A freshly initialised network for ``config`` (``createModel`` of ``@elementwise/models``)."""
    if seed is not None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return Network(config)
    return Network(config)


__all__ = ["ConfigError", "Network", "create_model", "resolve_config", "sinusoidal_table", "state_features"]
