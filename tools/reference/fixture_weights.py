"""Write the PyTorch weights (model.safetensors) of the bi-encoder fixtures into src/model/fixtures/models/<arch>/
(run by hand; Python is a reference only).

    ~/venvs/ref/bin/python tools/reference/fixture_weights.py bert [distilbert mpnet]

make_fixtures.py builds each fixture from a seed and records the sha256 of its model.safetensors in manifest.json
without committing the file. This rebuilds the file the same way (make_fixtures.build_hf), checks it against that
sha256, and writes it beside the ONNX export: the weights semsearch's own ONNX graph builder reads.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import make_fixtures  # noqa: E402
from common import sha256  # noqa: E402


def main() -> None:
    manifest = json.loads((make_fixtures.FIXTURES / "manifest.json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        for arch in sys.argv[1:] or ["bert"]:
            built = make_fixtures.build_hf(arch, Path(tmp)) / "model.safetensors"
            want = manifest["omitted_files"][arch]["model.safetensors"]["sha256"]
            got = sha256(built)
            if got != want:
                raise SystemExit(f"{arch}: rebuilt model.safetensors has sha256 {got}, manifest.json says {want}")
            dest = make_fixtures.FIXTURES / "models" / arch / "model.safetensors"
            shutil.copyfile(built, dest)
            print(f"{arch}: {dest} ({dest.stat().st_size} bytes, sha256 {got})")


if __name__ == "__main__":
    main()
