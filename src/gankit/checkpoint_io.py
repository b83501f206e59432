"""Checkpoint files: written atomically, read with `weights_only=True` (tensors and plain data only)."""

from __future__ import annotations

import errno
import os
import pickle
import shutil
import tempfile
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from gankit.errors import BadArgument, WriteFailed, first_line


@contextmanager
def writing(path: str | Path, what: str = "file"):
    """An OSError while writing `path` (no space left, a read-only or missing folder) -> WriteFailed naming it;
    a partly written file is removed (a folder is left as it is)."""
    try:
        yield
    except OSError as error:
        if what != "folder" and not Path(path).is_dir():
            with suppress(OSError):
                Path(path).unlink(missing_ok=True)
        reason = error.strerror or first_line(str(error)) or type(error).__name__
        raise WriteFailed(f"cannot write the {what} {path}: {reason}") from None


def save_atomically(obj: Any, path: str | Path) -> None:
    """torch.save to a temporary file beside `path`, fsync, then rename over it: a crash or a full disk mid-save
    leaves the previous file whole (os.replace is atomic on one file system); a failure is a WriteFailed line."""
    path = Path(path)
    with writing(path.parent, "folder"):
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as error:  # torch.save reports a failed write as a RuntimeError
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        kept = " (the previous checkpoint is kept)" if path.exists() else ""
        raise WriteFailed(f"cannot write the checkpoint {path}: {_reason(error, path.parent)}{kept}") from None
    except BaseException:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise
    for stale in path.parent.glob(f".{path.name}.*.tmp"):  # left by a process killed while saving
        stale.unlink(missing_ok=True)


def load_safely(path: str | Path, key: str = "ckpt_path", map_location: Any = "cpu") -> Any:
    """torch.load(weights_only=True) of a file the user named; BadArgument naming the argument `key` (train.py
    names its config key) when it is missing, truncated or not a torch file, or holds pickled objects other than
    tensors and plain data."""
    path = Path(path)
    if not path.is_file():
        hint = " (or ckpt_path=last)" if key == "ckpt_path" else ""
        raise BadArgument(key, f"does not exist; give the path of a .ckpt file{hint}", value=path, show_value=True)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        if "weights_only" in str(error) or "Unsupported global" in str(error):
            raise BadArgument(key, "holds pickled Python objects besides tensors and plain data; gankit loads only "
                                   "weights_only files and refuses to run code from them", value=path,
                              show_value=True) from None
        raise BadArgument(key, f"is corrupt or not a checkpoint ({_described(error)})", value=path,
                          show_value=True) from None
    except Exception as error:  # truncated or foreign files fail in many ways (EOFError, RuntimeError, IndexError)
        raise BadArgument(key, f"is corrupt or not a checkpoint ({_described(error)})", value=path,
                          show_value=True) from None


def _reason(error: BaseException, folder: Path) -> str:
    """Why a write failed: the OSError behind it (torch.save reports one as a RuntimeError of its own), or a
    full disk."""
    seen = error
    while seen is not None:
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror
        seen = seen.__cause__ or seen.__context__
    with suppress(OSError):
        if shutil.disk_usage(folder).free < 1024 * 1024:
            return os.strerror(errno.ENOSPC)
    return first_line(str(error)) or type(error).__name__


def _described(error: BaseException) -> str:
    return f"{type(error).__name__}: {first_line(str(error))}".rstrip(": ")


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint IO with atomic writes and weights_only reads (a trainer plugin)."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        save_atomically(checkpoint, path)

    def load_checkpoint(self, path, map_location: Any = None, weights_only: bool | None = None) -> dict[str, Any]:
        return load_safely(path, map_location=map_location or "cpu")
