"""LeCun's IDX format (MNIST, Fashion-MNIST), read directly from the file or its .gz: nothing is unpacked beside it,
so files in a read-only system folder (Debian's dataset packages) can be read where they are."""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from gankit.errors import ConfigError

UNSIGNED_BYTE = 0x08  # the only element type the MNIST-style sets use


def read_idx(path: Path) -> Tensor:
    """uint8 [d1, ..., dn] from `path` (plain or gzip): magic 0x0000 08 <n>, n big-endian int32 sizes, the data.
    A truncated, corrupt or foreign file is one ConfigError line naming it."""
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError, zlib.error) as error:
        raise ConfigError(f"{path} cannot be read ({type(error).__name__}: {error}); replace the file "
                          "(e.g. reinstall the package or download it again)") from None
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] != UNSIGNED_BYTE:
        raise ConfigError(f"{path} is not an IDX file of bytes (its header is {data[:4].hex() or 'empty'})")
    ndim = data[3]
    shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    body = data[4 + 4 * ndim:]
    if len(body) != int(np.prod(shape)):
        raise ConfigError(f"{path} is truncated: its header promises {int(np.prod(shape))} bytes of "
                          f"{'x'.join(map(str, shape))} values, it holds {len(body)}")
    return torch.from_numpy(np.frombuffer(body, dtype=np.uint8).reshape(shape).copy())
