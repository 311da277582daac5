"""The README's story, verbatim, at a small size: torchrun trains, Node generates."""

import os
import re
import shutil
import subprocess

import torch
from conftest import PACKAGE, REPO, skip_loudly

from elementwise_torch import load_tfjs


def story():
    text = (PACKAGE / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- story -->\n```sh\n(.*?)```\n<!-- /story -->", text, re.S)
    assert match, "README.md has no <!-- story --> block"
    return match.group(1)


def test_readme_story_runs_verbatim(tmp_path):
    if shutil.which("torchrun") is None:
        skip_loudly("torchrun is not on PATH (Debian's python3-torch installs /usr/bin/torchrun)")
    out = tmp_path / "ea6"
    env = {
        **os.environ,
        "STEPS": "3", "D_MODEL": "16", "LAYERS": "1", "MAX_LENGTH": "32", "OUT": str(out),
        "OMP_NUM_THREADS": "1",
    }
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", story()], cwd=REPO, env=env, capture_output=True,
        text=True, timeout=600,
    )
    assert result.returncode == 0, f"the README story failed:\n{result.stdout}\n{result.stderr}"
    lines = result.stdout.strip().splitlines()
    assert any("wrote" in line and "model.json" in line for line in lines), result.stdout
    # Node printed the prompt and 200 generated characters.
    generated = result.stdout[result.stdout.index("Call me Ishmael. "):]
    assert len(generated.rstrip("\n")) >= len("Call me Ishmael. ") + 150, generated
    model = load_tfjs(out)
    assert model.config["dModel"] == 16 and model.config["numLayers"] == 1
    assert torch.isfinite(model(model.encode("Call me").unsqueeze(0))).all()
