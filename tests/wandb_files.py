"""Reads an offline W&B run's `run-*.wandb` file: a LevelDB-style log of protobuf Records.

File = 7-byte header (":W&B", magic, version), then 32 KiB blocks of chunks; each chunk has a
7-byte header (crc32: 4, length: 2 little-endian, type: 1 = full, 2 = first, 3 = middle, 4 = last).
"""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path

from wandb.proto import wandb_internal_pb2 as pb

BLOCK = 32 * 1024


def records(path: Path) -> list[pb.Record]:
    data = Path(path).read_bytes()
    assert data[:4] == b":W&B", "not a W&B run file"
    out, pending, pos = [], b"", 7
    while pos + 7 <= len(data):
        room = BLOCK - pos % BLOCK
        if room < 7:  # block trailer padding
            pos += room
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        chunk = data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind == 0 and length == 0:
            continue
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(pending)
            out.append(record)
            pending = b""
    return out


def run_file(run_root: Path, timeout: float = 30.0, only: Path | None = None) -> Path:
    """The single offline run under `run_root/wandb` (or `only`, one of several), once W&B has written its exit
    record: wandb >= 0.31 writes the offline file from its service process and `run.finish()` can return before
    the file is complete."""
    files = [only] if only is not None else sorted(Path(run_root).glob("wandb/offline-run-*/run-*.wandb"))
    assert len(files) == 1, files
    deadline = time.monotonic() + timeout
    while not _has_exit_record(files[0]) and time.monotonic() < deadline:
        time.sleep(0.2)
    return files[0]


def _has_exit_record(path: Path) -> bool:
    try:
        return any(record.WhichOneof("record_type") == "exit" for record in records(path))
    except Exception:  # a chunk still being written
        return False


def config(path: Path) -> dict:
    """The run's config: the run record's, updated by later config records."""
    values = {}
    for record in records(path):
        kind = record.WhichOneof("record_type")
        items = record.run.config.update if kind == "run" else (
            record.config.update if kind == "config" else [])
        for item in items:
            key = item.key or "/".join(item.nested_key)
            values[key] = json.loads(item.value_json)
    return values


def history(path: Path) -> list[dict]:
    """Every logged row as {key: value}."""
    rows = []
    for record in records(path):
        if record.WhichOneof("record_type") == "history":
            rows.append({(i.key or "/".join(i.nested_key)): json.loads(i.value_json)
                         for i in record.history.item})
    return rows


def run_info(path: Path) -> pb.RunRecord:
    return next(r.run for r in records(path) if r.WhichOneof("record_type") == "run")
