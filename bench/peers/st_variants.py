"""Hub-style optimised ONNX variants (onnx/model_O1.onnx, onnx/model_O2.onnx), made the way the hub's were:
sentence-transformers' export_optimized_onnx_model (optimum's ORTOptimizer). Run by bench/encode.ts for the
lever study; written into a cache folder, never the repository.

    ~/venvs/ref/bin/python bench/peers/st_variants.py MODEL_DIR OUT_DIR O1 O2 ...

OUT_DIR receives onnx/model_<level>.onnx. O3 (approximate GELU) and O4 (fp16) change the outputs, so the
benchmark does not make them.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    model_dir, out_dir, *levels = sys.argv[1:]
    from sentence_transformers import SentenceTransformer, export_optimized_onnx_model

    model = SentenceTransformer(model_dir, device="cpu", backend="onnx", model_kwargs={"file_name": "onnx/model.onnx", "provider": "CPUExecutionProvider"})
    for level in levels:
        export_optimized_onnx_model(model, level, out_dir)
        print(f"{level}: {out_dir}/onnx/model_{level}.onnx", flush=True)


if __name__ == "__main__":
    main()
