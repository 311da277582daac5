"""Training: torchrun with 2 processes (gloo) takes the same steps as one process."""

import json
import os
import subprocess
import sys

import numpy as np
import torch
from conftest import PACKAGE

from elementwise_torch import load_tfjs
from elementwise_torch.train import moby_dick_text, split_text

TINY = [
    "--steps", "4", "--batch-size", "4", "--d-model", "16", "--heads", "2", "--layers", "2",
    "--max-length", "24", "--order", "6", "--short-conv", "3", "--warmup", "2", "--lr", "1e-2",
    "--eval-batches", "2", "--quiet",
]


def run(command, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(PACKAGE), "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"


def test_moby_dick_text_and_vocabulary_are_the_clis():
    text = moby_dick_text()
    train, validation, test = split_text(text)
    assert train + validation + test == text and len(text) > 1_200_000
    assert len(train) == int(len(text) * 0.9 + 0.5) and len(test) == len(text) - int(len(text) * 0.95 + 0.5)
    assert "CHAPTER 1. Loomings.\n\nCall me Ishmael." in train and text.rstrip().endswith("orphan.")
    pretrained = PACKAGE.parents[0] / "models" / "pretrained" / "char-lm-moby-dick-ea6" / "model.json"
    vocabulary = json.loads(pretrained.read_text())["userDefinedMetadata"]["elementwise"]["config"]["vocabulary"]
    assert "".join(sorted(set(train))) == vocabulary


def test_torchrun_two_processes_match_one_process(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    run([sys.executable, "-m", "elementwise_torch.train", *TINY, "--out", str(one)], tmp_path)
    run([
        # --redirects 1 --tee 1: torch 1.13's torchrun crashes on Python 3.11 with its defaults
        # (Std.from_str('0') is None there); these flags work with every torch release.
        sys.executable, "-m", "torch.distributed.run", "--redirects", "1", "--tee", "1",
        "--standalone", "--nproc_per_node", "2",
        "-m", "elementwise_torch.train", *TINY, "--out", str(two),
    ], tmp_path)
    single = json.loads((one / "train.json").read_text())
    distributed = json.loads((two / "train.json").read_text())
    assert single["world_size"] == 1 and distributed["world_size"] == 2
    assert len(single["losses"]) == len(distributed["losses"]) == 4
    difference = np.abs(np.array(single["losses"]) - np.array(distributed["losses"])).max()
    assert difference <= 1e-5, f"losses differ by {difference:.3g}: {single['losses']} vs {distributed['losses']}"
    # Training moved the weights, and both runs moved them the same way.
    assert single["losses"][-1] < single["losses"][0]
    a, b = load_tfjs(one), load_tfjs(two)
    for (name, x), (_, y) in zip(a.tfjs_weights(), b.tfjs_weights()):
        assert torch.allclose(x, y, atol=1e-5), f"weight {name} differs by {(x - y).abs().max():.3g}"
