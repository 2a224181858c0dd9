"""Python sentence-transformers as a benchmark peer of semsearch (run by bench/encode.ts; never a dependency).

    ~/venvs/ref/bin/python bench/peers/st_peer.py JOB.json

JOB.json (written by bench/run-child.ts):
  {"kind": "encode", "modelDir", "backend": "torch" | "onnx", "onnxFile": "onnx/model.onnx", "threads", "batchSize",
   "warmupTexts": N, "reps": R, "workloads": [{"name", "textsFile", "embeddingsFile"}], "resultFile"}
  {"kind": "gemm", "threads", "size", "reps", "resultFile"}   # torch.mm ceiling of this CPU
  {"kind": "cross", "system": "st-torch" | "st-onnx", "modelDir", "onnxFile", "threads", "batchSize", "warmupPairs",
   "reps", "pairsFile", "scoresFile", "resultFile"}   # CrossEncoder.predict over (query, passage) pairs

Each workload's texts are encoded once on the first warmupTexts texts (untimed), then R timed times with
model.encode(texts, batch_size=batchSize) (the library sorts by length itself). The last repetition's embeddings
are written as raw little-endian float32 (rows x dim) to embeddingsFile; timings and peak RSS go to resultFile.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time


def peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def gemm(job: dict) -> dict:
    import torch

    torch.set_num_threads(job["threads"])
    n = job["size"]
    a = torch.randn(n, n)
    b = torch.randn(n, n)
    torch.mm(a, b)
    times = []
    for _ in range(job["reps"]):
        t = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - t)
    return {"times": times, "flops": 2 * n**3, "torch": torch.__version__}


def load(job: dict, cls_name: str, onnx: bool) -> tuple[object, dict, float]:
    """A SentenceTransformer or CrossEncoder on torch or ONNX Runtime, with the job's thread budget; its versions and load time."""
    import torch

    torch.set_num_threads(job["threads"])
    torch.set_num_interop_threads(1)
    t0 = time.perf_counter()
    import sentence_transformers

    cls = getattr(sentence_transformers, cls_name)
    versions = {"sentence-transformers": sentence_transformers.__version__, "torch": torch.__version__, "python": sys.version.split()[0]}
    if not onnx:
        model = cls(job["modelDir"], device="cpu", backend="torch")
    else:
        import onnxruntime as ort

        so = ort.SessionOptions()
        # The same thread budget as semsearch and transformers.js: intra-op threads, one inter-op thread.
        so.intra_op_num_threads = job["threads"]
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        model = cls(job["modelDir"], device="cpu", backend="onnx", model_kwargs={"file_name": job["onnxFile"], "provider": "CPUExecutionProvider", "session_options": so})
        versions["onnxruntime"] = ort.__version__
    return model, versions, time.perf_counter() - t0


def encode(job: dict) -> dict:
    import numpy as np

    model, versions, load_s = load(job, "SentenceTransformer", job["backend"] != "torch")
    out = {"loadSeconds": load_s, "versions": versions, "workloads": {}}
    for w in job["workloads"]:
        with open(w["textsFile"], encoding="utf-8") as f:
            texts = json.load(f)
        warm = texts[: job["warmupTexts"]]
        if warm:
            model.encode(warm, batch_size=job["batchSize"], convert_to_numpy=True)
        times = []
        emb = None
        for _ in range(job["reps"]):
            t = time.perf_counter()
            emb = model.encode(texts, batch_size=job["batchSize"], convert_to_numpy=True)
            times.append(time.perf_counter() - t)
        arr = np.ascontiguousarray(emb, dtype="<f4")
        arr.tofile(w["embeddingsFile"])
        out["workloads"][w["name"]] = {"times": times, "items": len(texts), "rows": int(arr.shape[0]), "dim": int(arr.shape[1])}
    return out


def cross(job: dict) -> dict:
    import numpy as np

    model, versions, load_s = load(job, "CrossEncoder", job["system"] != "st-torch")
    with open(job["pairsFile"], encoding="utf-8") as f:
        pairs = [tuple(p) for p in json.load(f)]
    if job["warmupPairs"]:
        model.predict(pairs[: job["warmupPairs"]], batch_size=job["batchSize"])
    times = []
    scores = None
    for _ in range(job["reps"]):
        t = time.perf_counter()
        scores = model.predict(pairs, batch_size=job["batchSize"], convert_to_numpy=True)
        times.append(time.perf_counter() - t)
    np.ascontiguousarray(scores, dtype="<f4").tofile(job["scoresFile"])
    return {"loadSeconds": load_s, "versions": versions, "times": times, "pairs": len(pairs)}


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        job = json.load(f)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    result = gemm(job) if job["kind"] == "gemm" else cross(job) if job["kind"] == "cross" else encode(job)
    result["peakRssMB"] = peak_rss_mb()
    with open(job["resultFile"], "w", encoding="utf-8") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
