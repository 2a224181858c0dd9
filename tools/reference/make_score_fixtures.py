"""Regenerate src/score/fixtures/score.json (run by hand; Python is a reference only; no model involved).

    ~/venvs/ref/bin/python tools/reference/make_score_fixtures.py

Small seeded float32 matrices and what sentence_transformers.util makes of them:

* similarity: cos_sim, dot_score, euclidean_sim, manhattan_sim and their pairwise_* forms (one case has
  more than 25 rows, where torch.cdist switches to its matrix-multiply path for p=2).
* semantic_search: top_k 1/3/10 (and top_k larger than the corpus) with several query_chunk_size /
  corpus_chunk_size settings, with cos_sim and dot_score, on random data AND on data with exact ties
  (duplicate corpus rows, different rows with the same integer dot products, ties straddling the top-k
  boundary and ties across corpus chunks), so the TypeScript side can match the tie order.
* torch.topk(..., sorted=False) and sorted=True index order on CPU for rows with ties, every k (the
  per-chunk step inside semantic_search).
* quantize_embeddings: int8/uint8 with ranges from the embeddings, from calibration_embeddings and
  explicit ranges (values outside included; float32 and float64 ranges), binary and ubinary, dims 16/32
  (and 20, not a multiple of 8).

Matrices are {"rows", "dim", "f32"|"i8"|"u8": base64 of the little-endian row-major bytes}.
Scores in semantic_search results are plain JSON numbers: the exact float32 values (Python floats).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REPO_ROOT, b64_f32, b64_int, versions, write_json  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sentence_transformers import util  # noqa: E402

OUT = REPO_ROOT / "src" / "score" / "fixtures" / "score.json"

SIM_FUNCS = {
    "cos_sim": util.cos_sim,
    "dot_score": util.dot_score,
    "euclidean_sim": util.euclidean_sim,
    "manhattan_sim": util.manhattan_sim,
}
PAIRWISE_FUNCS = {
    "pairwise_cos_sim": util.pairwise_cos_sim,
    "pairwise_dot_score": util.pairwise_dot_score,
    "pairwise_euclidean_sim": util.pairwise_euclidean_sim,
    "pairwise_manhattan_sim": util.pairwise_manhattan_sim,
}
SEARCH_FUNCS = {"cos_sim": util.cos_sim, "dot_score": util.dot_score}


def f32(a) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


def similarity_cases(rng: np.random.Generator) -> list[dict]:
    cases = []

    a = f32(rng.standard_normal((4, 16)))
    b = f32(rng.standard_normal((6, 16)))
    b[2] = 0.0  # zero row: cos_sim uses normalize(eps=1e-12), so its scores are 0
    b[4] = a[1]  # an exact copy of a query row
    b[5] = 3.0 * a[0]  # same direction, other length
    cases.append(("small-16", a, b))

    a = f32(rng.standard_normal((3, 32)) * 0.1)
    b = f32(rng.standard_normal((5, 32)) * 0.1)
    cases.append(("small-32", a, b))

    # More than 25 rows on both sides: torch.cdist(p=2) then computes through matrix products.
    a = f32(rng.standard_normal((30, 32)))
    b = f32(rng.standard_normal((40, 32)))
    b[:5] = a[:5]  # identical pairs: distance 0 (stored as -0.0: the functions return the negated distance)
    cases.append(("large-32", a, b))

    out = []
    for name, a, b in cases:
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        entry = {"name": name, "a": b64_f32(a), "b": b64_f32(b), "scores": {}, "pairwise": {}}
        for fname, fn in SIM_FUNCS.items():
            entry["scores"][fname] = b64_f32(fn(ta, tb).numpy())
        n = min(len(a), len(b))
        entry["pairwise_note"] = f"pairwise functions on a[:{n}] and b[:{n}]; result as a 1 x {n} matrix"
        for fname, fn in PAIRWISE_FUNCS.items():
            entry["pairwise"][fname] = b64_f32(fn(ta[:n], tb[:n]).numpy().reshape(1, -1))
        out.append(entry)
    return out


def search_data(rng: np.random.Generator) -> list[tuple[str, str, np.ndarray, np.ndarray]]:
    data = []

    q = f32(rng.standard_normal((5, 16)))
    c = f32(rng.standard_normal((50, 16)))
    data.append(("random", "seeded standard normal queries and corpus, no ties expected", q, c))

    # Duplicate corpus rows: 24 rows drawn from 5 distinct vectors, so every score occurs 3-7 times and
    # ties straddle the top-k boundary and the corpus chunk boundaries.
    base = f32(rng.standard_normal((5, 16)))
    pick = rng.integers(0, 5, size=24)
    c = f32(base[pick])
    q = f32(np.vstack([base[0], base[3], rng.standard_normal((2, 16))]))
    data.append(("duplicate-rows", "corpus rows are copies of 5 vectors (row i = base[pick[i]]); queries 0,1 equal base[0], base[3]", q, c))

    # Different rows, equal scores: 0/1 vectors give integer dot products (exact in float32), and rows with
    # the same number of ones in the same places as the query tie even under cos_sim when they are equal.
    c = f32((rng.random((30, 8)) < 0.5).astype(np.float32))
    c[7] = c[3]
    c[19] = c[3]
    c[29] = c[3]
    q = f32(np.vstack([np.ones(8), c[3], (np.arange(8) % 2 == 0).astype(np.float32)]))
    data.append(("integer-ties", "0/1 vectors: integer dot products, many different rows with equal scores", q, c))

    # All scores equal: the order is decided by tie-breaking alone.
    c = f32(np.tile(rng.standard_normal((1, 16)), (12, 1)))
    q = f32(rng.standard_normal((2, 16)))
    data.append(("all-equal", "all 12 corpus rows identical", q, c))

    # A corpus smaller than top_k.
    c = f32(rng.standard_normal((6, 16)))
    q = f32(rng.standard_normal((2, 16)))
    data.append(("small-corpus", "6 corpus rows (fewer than top_k=10)", q, c))
    return data


SEARCH_SETTINGS = [
    # (query_chunk_size, corpus_chunk_size)
    (100, 500000),  # the defaults
    (2, 500000),
    (100, 7),
    (1, 5),
    (3, 16),
]
TOP_KS = [1, 3, 10]


def search_cases(rng: np.random.Generator) -> list[dict]:
    out = []
    for name, note, q, c in search_data(rng):
        entry = {"name": name, "note": note, "queries": b64_f32(q), "corpus": b64_f32(c), "runs": []}
        tq, tc = torch.from_numpy(q), torch.from_numpy(c)
        for fname, fn in SEARCH_FUNCS.items():
            entry.setdefault("scores", {})[fname] = b64_f32(fn(tq, tc).numpy())
            for top_k in TOP_KS:
                for qcs, ccs in SEARCH_SETTINGS:
                    res = util.semantic_search(
                        tq, tc, query_chunk_size=qcs, corpus_chunk_size=ccs, top_k=top_k, score_function=fn
                    )
                    entry["runs"].append(
                        {
                            "score_function": fname,
                            "top_k": top_k,
                            "query_chunk_size": qcs,
                            "corpus_chunk_size": ccs,
                            "results": [[[int(h["corpus_id"]), float(h["score"])] for h in hits] for hits in res],
                        }
                    )
        out.append(entry)
    return out


def quantize_cases(rng: np.random.Generator) -> list[dict]:
    out = []
    for dim, rows in [(16, 10), (32, 12), (20, 6)]:
        emb = f32(rng.standard_normal((rows, dim)))
        emb[:, 1] = 0.25  # a constant column: its range is 0, so step 0 -> 1
        emb[0, 2] = 0.0  # exact zeros and a negative zero (binary: x > 0 is false for both)
        emb[1, 2] = -0.0
        calib = f32(rng.standard_normal((50, dim)) * 0.8)
        # Explicit ranges narrower than the data, so values fall below and above them (clipped to 0/255).
        lo = f32(np.full(dim, -0.5))
        hi = f32(np.full(dim, 0.75))
        lo[3], hi[3] = 0.1, 0.1  # a zero-width explicit range
        ranges32 = f32(np.vstack([lo, hi]))
        ranges64 = np.vstack([lo, hi]).astype(np.float64)

        entry = {"name": f"dim-{dim}", "embeddings": b64_f32(emb), "calibration_embeddings": b64_f32(calib), "runs": []}
        for precision in ["int8", "uint8"]:
            kind = "i8" if precision == "int8" else "u8"
            for source, kwargs in [
                ("embeddings", {}),
                ("calibration_embeddings", {"calibration_embeddings": calib}),
                ("ranges-float32", {"ranges": ranges32}),
                ("ranges-float64", {"ranges": ranges64}),
            ]:
                qv = util.quantize_embeddings(emb, precision=precision, **kwargs)
                run = {"precision": precision, "ranges_from": source, "output": b64_int(qv, kind)}
                if source == "ranges-float32":
                    run["ranges"] = b64_f32(ranges32)
                if source == "ranges-float64":
                    run["ranges"] = b64_f32(ranges32)
                    run["note"] = "the same ranges passed as a float64 array: numpy then computes in float64"
                entry["runs"].append(run)
        for precision, kind in [("binary", "i8"), ("ubinary", "u8")]:
            qv = util.quantize_embeddings(emb, precision=precision)
            entry["runs"].append({"precision": precision, "output": b64_int(qv, kind)})
        out.append(entry)
    return out


def topk_cases(rng: np.random.Generator) -> list[dict]:
    """Raw torch.topk(x, k, dim=-1, largest=True, sorted=False) on CPU (what semantic_search calls per chunk),
    for float32 rows with and without ties, every k from 1 to len(x): the order of the returned indices is
    what the heap in semantic_search then sees."""
    rows = []
    for n in [1, 2, 5, 7, 12, 16, 24, 30, 50, 100]:
        rows.append(("random", f32(rng.standard_normal(n))))
        rows.append(("ties-3-levels", f32(rng.integers(0, 3, size=n))))
        rows.append(("all-equal", f32(np.full(n, 0.5))))
    out = []
    for kind, x in rows:
        tx = torch.from_numpy(x)
        entry = {"kind": kind, "x": b64_f32(x.reshape(1, -1)), "unsorted": [], "sorted": []}
        for k in range(1, len(x) + 1):
            v, i = torch.topk(tx, k, dim=-1, largest=True, sorted=False)
            entry["unsorted"].append(i.tolist())
            v2, i2 = torch.topk(tx, k, dim=-1, largest=True, sorted=True)
            entry["sorted"].append(i2.tolist())
        out.append(entry)
    return out


def main() -> None:
    logging.getLogger("sentence_transformers").setLevel(logging.ERROR)  # "buckets based on 10 embeddings"
    torch.set_num_threads(1)
    rng = np.random.default_rng(20240502)
    doc = {
        "generator": "tools/reference/make_score_fixtures.py",
        "versions": versions(),
        "encoding": "matrices: {rows, dim, f32|i8|u8: base64 little-endian row-major}; semantic_search results: per query a list of [corpus_id, score]",
        "similarity": similarity_cases(rng),
        "semantic_search": search_cases(rng),
        "quantize": quantize_cases(rng),
        "torch_topk": topk_cases(rng),
    }
    write_json(OUT, doc)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e3:.1f} kB)")


if __name__ == "__main__":
    main()
