"""On-disk cache for what is expensive to recompute: the digits classifier and reference-set features."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor

from gankit.errors import first_line

log = logging.getLogger(__name__)


def digest(*parts: Tensor | str | bytes) -> str:
    """sha256 of tensors (shape, dtype and values) and strings: a key that changes when any of them does."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, Tensor):
            t = part.detach().cpu().contiguous()
            h.update(f"{tuple(t.shape)}{t.dtype}".encode())
            h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
        else:
            h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()


def file_digest(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_or_compute(path: Path, compute: Callable[[], dict]) -> tuple[dict, bool]:
    """(the dict stored at `path`, True) or (compute() saved there atomically, False). The stored dict holds
    tensors and plain values only, read with weights_only=True; an unreadable file is computed again."""
    if path.is_file():
        try:
            return torch.load(path, map_location="cpu", weights_only=True), True
        except Exception as error:  # truncated, corrupt, or not plain data: never unpickle it
            log.warning("recomputing the unreadable cache file %s (%s)", path, first_line(str(error))[:200])
    value = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    torch.save(value, tmp)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)  # concurrent writers (DDP ranks, parallel runs) leave one whole file
    return value, False
