"""Checkpoint files: written atomically, read with `weights_only=True` (tensors and plain data only)."""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from gankit.errors import ConfigError


def save_atomically(obj: Any, path: str | Path) -> None:
    """torch.save to a temporary file beside `path`, fsync, then rename over it: a crash mid-save leaves the
    previous file whole (os.replace is atomic on one file system)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    for stale in path.parent.glob(f".{path.name}.*.tmp"):  # left by a process killed while saving
        stale.unlink(missing_ok=True)


def load_safely(path: str | Path, key: str = "ckpt_path", map_location: Any = "cpu") -> Any:
    """torch.load(weights_only=True) of a file the user named; ConfigError naming `key` when it is missing,
    truncated or not a torch file, or holds pickled objects other than tensors and plain data."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{key}={path} does not exist; give the path of a .ckpt file (or ckpt_path=last)")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        if "weights_only" in str(error) or "Unsupported global" in str(error):
            raise ConfigError(
                f"{key}={path} holds pickled Python objects besides tensors and plain data; gankit loads only "
                "weights_only files and refuses to run code from them"
            ) from None
        raise ConfigError(f"{key}={path} is corrupt or not a checkpoint ({_first_line(error)})") from None
    except Exception as error:  # truncated or foreign files fail in many ways (EOFError, RuntimeError, IndexError)
        raise ConfigError(f"{key}={path} is corrupt or not a checkpoint ({_first_line(error)})") from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint IO with atomic writes and weights_only reads (a trainer plugin)."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        save_atomically(checkpoint, path)

    def load_checkpoint(self, path, map_location: Any = None, weights_only: bool | None = None) -> dict[str, Any]:
        return load_safely(path, map_location=map_location or "cpu")
