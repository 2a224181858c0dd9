"""Vector-search benchmark peer: faiss and usearch on a semsearch search workload (bench only).

Python is only a benchmark peer here. It is never a runtime dependency of semsearch; nothing in src/ imports or
runs it. It measures what established native libraries achieve on the same vectors, queries and ground truth
that semsearch's own search benchmark uses (the workload format is in the header of bench/search-workload.ts:
meta.json, corpus.f32, queries.f32, gt.i32, gt.f32; little-endian, row-major, no header).

Install (pinned versions):

    ~/venvs/ref/bin/pip install -r tools/reference/requirements-search.txt

Run on a workload:

    ~/venvs/ref/bin/python bench/peers/search_peer.py \
        --workload ~/.cache/semsearch/search-workload/minilm-l6-384 \
        --methods faiss-flat,faiss-hnsw,faiss-binary,usearch-exact,usearch-hnsw-f32,usearch-hnsw-f16,usearch-hnsw-i8,membw \
        --threads 1,2 --k 10 --M 16 --ef-construction 128 --ef 16,32,64,128,256 \
        --rescore-multiplier 4 --latency-queries 300 --out results.json

Make a small synthetic workload in the same format (for testing the peer and its consumers):

    ~/venvs/ref/bin/python bench/peers/search_peer.py --make-synthetic /tmp/syn --rows 20000 --dim 384 --nq 200

Methods (all inner product; corpus vectors are used as given):
  faiss-flat               faiss.IndexFlatIP (exact)
  faiss-hnsw               faiss.IndexHNSWFlat(dim, M, METRIC_INNER_PRODUCT), efConstruction; one row per efSearch
  faiss-binary             faiss.IndexBinaryFlat over sign bits (np.packbits(x > 0, axis=1)), hamming top
                           k*rescore-multiplier, rescored with the float32 query against int8 scalar-quantised rows
                           (sentence-transformers' int8 recipe: per-dimension min/max over the corpus)
  faiss-binary-f32rescore  the same candidates rescored against the float32 rows (produced by faiss-binary)
  usearch-exact            usearch.index.search(corpus, queries, k, MetricKind.IP, exact=True)
  usearch-hnsw-{f32,f16,i8} usearch.index.Index(metric='ip', dtype=..., connectivity=M, expansion_add=efC);
                           one row per expansion_search
  membw                    context only: GB/s of one numpy sum over a float32 array of the corpus size (best of 5)

Measurements per method/setting: recall@10 (mean |found ∩ gt top-10| / 10), build_seconds (creation + add, with
--build-threads threads), memory_bytes (faiss: serialized size; usearch: serialized size, with
index.memory_usage as memory_usage_bytes; binary: codes plus
rescoring matrix), rss_mb (VmRSS after build) and rss_delta_mb, load_seconds (read back from a just-written temp
file, so from a warm page cache) and view_seconds (faiss IO_FLAG_MMAP_IFC / usearch view=True), batch QPS per thread
count (all queries in one search call; best of --reps), single-query latency p50/p99 ms over --latency-queries
queries issued one at a time on 1 thread (Python call overhead of a few microseconds included, as for every method).
"""

from __future__ import annotations

import argparse
import datetime
import gc
import hashlib
import json
import math
import os
import platform
import resource
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

ALL_METHODS = [
    "faiss-flat",
    "faiss-hnsw",
    "faiss-binary",
    "faiss-binary-f32rescore",
    "usearch-exact",
    "usearch-hnsw-f32",
    "usearch-hnsw-f16",
    "usearch-hnsw-i8",
    "membw",
]
DEFAULT_METHODS = [m for m in ALL_METHODS if m != "faiss-binary-f32rescore"]  # produced together with faiss-binary


class PeerError(Exception):
    pass


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------------
# machine / process facts


def cpu_info() -> dict:
    model = platform.processor() or platform.machine()
    flags: set[str] = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model in ("", platform.machine(), platform.processor()):
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    interesting = ["avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_fp16",
                   "avx512_bf16", "avx512_vpopcntdq", "amx_tile", "asimd", "sve"]
    return {
        "model": model,
        "logicalCpus": os.cpu_count(),
        "affinityCpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "simd": [f for f in interesting if f in flags],
    }


def vm_rss_mb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux and is sampled lazily, so never report it below the current VmRSS
    return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, vm_rss_mb())


# ---------------------------------------------------------------------------------------------------------------
# workload I/O


def _expect_file(path: str, nbytes: int | None, what: str) -> None:
    if not os.path.isfile(path):
        hint = " (a .partial file exists: the workload is still being built)" if os.path.exists(path + ".partial") else ""
        raise PeerError(f"missing {what}: {path}{hint}")
    if nbytes is not None:
        size = os.path.getsize(path)
        if size != nbytes:
            raise PeerError(f"{what} {path} has {size} bytes, meta.json implies {nbytes}")


def load_workload(folder: str) -> dict:
    folder = os.path.expanduser(folder)
    if not os.path.isdir(folder):
        raise PeerError(f"workload folder not found: {folder}")
    meta_path = os.path.join(folder, "meta.json")
    _expect_file(meta_path, None, "meta.json")
    with open(meta_path) as f:
        meta = json.load(f)
    for key in ("dim", "corpusRows", "queryRows", "gtK"):
        if not isinstance(meta.get(key), int) or meta[key] <= 0:
            raise PeerError(f"meta.json: '{key}' must be a positive integer, got {meta.get(key)!r}")
    dim, n, nq, gtk = meta["dim"], meta["corpusRows"], meta["queryRows"], meta["gtK"]
    paths = {k: os.path.join(folder, k) for k in ("corpus.f32", "queries.f32", "gt.i32", "gt.f32")}
    _expect_file(paths["corpus.f32"], n * dim * 4, "corpus.f32")
    _expect_file(paths["queries.f32"], nq * dim * 4, "queries.f32")
    _expect_file(paths["gt.i32"], nq * gtk * 4, "gt.i32")
    corpus = np.fromfile(paths["corpus.f32"], dtype="<f4").reshape(n, dim)
    queries = np.fromfile(paths["queries.f32"], dtype="<f4").reshape(nq, dim)
    gt = np.fromfile(paths["gt.i32"], dtype="<i4").reshape(nq, gtk)
    if not np.isfinite(corpus).all():
        raise PeerError("corpus.f32 contains NaN/Inf")
    if not np.isfinite(queries).all():
        raise PeerError("queries.f32 contains NaN/Inf")
    if gt.min() < 0 or gt.max() >= n:
        raise PeerError(f"gt.i32 has row numbers outside [0, {n}): min {gt.min()}, max {gt.max()}")
    return {"folder": folder, "meta": meta, "corpus": np.ascontiguousarray(corpus, dtype=np.float32),
            "queries": np.ascontiguousarray(queries, dtype=np.float32), "gt": gt}


def _write_atomic(path: str, data: bytes) -> None:
    with open(path + ".partial", "wb") as f:
        f.write(data)
    os.replace(path + ".partial", path)


def make_synthetic(folder: str, rows: int, dim: int, nq: int, seed: int, centres: int = 200, gtk: int = 100) -> None:
    if rows <= 0 or dim <= 0 or nq <= 0:
        raise PeerError("--rows, --dim and --nq must be positive")
    gtk = min(gtk, rows)
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    c = rng.standard_normal((centres, dim)).astype(np.float32)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    assign = rng.integers(0, centres, rows)
    # noise of norm ~0.8 around unit centres: clusters overlap a little, neighbours are not trivial
    corpus = c[assign] + rng.standard_normal((rows, dim)).astype(np.float32) * np.float32(0.8 / math.sqrt(dim))
    corpus /= np.linalg.norm(corpus, axis=1, keepdims=True)
    near = rng.integers(0, rows, nq)
    queries = corpus[near] + rng.standard_normal((nq, dim)).astype(np.float32) * np.float32(0.6 / math.sqrt(dim))
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    corpus = corpus.astype("<f4")
    queries = queries.astype("<f4")
    gt_i = np.empty((nq, gtk), dtype="<i4")
    gt_s = np.empty((nq, gtk), dtype="<f4")
    for s in range(0, nq, 64):
        scores = queries[s:s + 64] @ corpus.T  # float32 exact dot products
        order = np.argsort(-scores, axis=1, kind="stable")[:, :gtk]  # ties: lower row first
        gt_i[s:s + 64] = order
        gt_s[s:s + 64] = np.take_along_axis(scores, order, axis=1)
    texts = [f"synthetic row {i} cluster {int(assign[i])}" for i in range(rows)]
    corpus_jsonl = "".join(json.dumps({"id": f"syn-{i:07d}", "source": "synthetic", "text": t}) + "\n"
                           for i, t in enumerate(texts))
    queries_jsonl = "".join(json.dumps({"id": f"synq-{j:06d}", "source": "synthetic-near-row",
                                        "text": f"near row {int(near[j])}"}) + "\n" for j in range(nq))
    meta = {
        "name": os.path.basename(os.path.normpath(folder)),
        "model": "synthetic",
        "dim": dim,
        "corpusRows": rows,
        "queryRows": nq,
        "gtK": gtk,
        "sources": {"synthetic": rows, "synthetic-near-row": nq},  # same shape as bench/search-workload.ts
        "corpusSources": {"synthetic": rows},
        "querySources": {"synthetic-near-row": nq},
        "createdAt": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "cpu": cpu_info()["model"],
        "encodeSeconds": 0,
        "textsSha256": hashlib.sha256("\n".join(texts).encode()).hexdigest(),
        "normalized": True,
        "synthetic": {"seed": seed, "centres": centres},
    }
    _write_atomic(os.path.join(folder, "corpus.f32"), corpus.tobytes())
    _write_atomic(os.path.join(folder, "queries.f32"), queries.tobytes())
    _write_atomic(os.path.join(folder, "gt.i32"), gt_i.tobytes())
    _write_atomic(os.path.join(folder, "gt.f32"), gt_s.tobytes())
    _write_atomic(os.path.join(folder, "corpus.jsonl"), corpus_jsonl.encode())
    _write_atomic(os.path.join(folder, "queries.jsonl"), queries_jsonl.encode())
    _write_atomic(os.path.join(folder, "meta.json"), (json.dumps(meta, indent=2) + "\n").encode())
    log(f"synthetic workload: {rows} x {dim}, {nq} queries, gtK {gtk} -> {folder} ({time.perf_counter() - t0:.1f}s)")


# ---------------------------------------------------------------------------------------------------------------
# measurement helpers


def recall_at_10(found: np.ndarray, gt: np.ndarray) -> float:
    hits = 0
    for f, g in zip(found[:, :10], gt[:, :10]):
        hits += len(set(int(x) for x in f if x >= 0) & set(int(x) for x in g))
    return hits / (10 * len(gt))


def time_batch(fn, reps: int) -> tuple[float, np.ndarray]:
    """fn() searches all queries and returns (nq, k) row ids; best wall time over reps."""
    best = math.inf
    ids = None
    for _ in range(reps):
        t = time.perf_counter()
        ids = fn()
        best = min(best, time.perf_counter() - t)
    return best, ids


def latency(fn_one, queries: np.ndarray, count: int) -> dict:
    """fn_one(q) searches one query (1-D float32); count calls, cycling through the queries."""
    for i in range(min(10, len(queries))):  # warm-up
        fn_one(queries[i])
    times = np.empty(count, dtype=np.float64)
    for i in range(count):
        q = queries[i % len(queries)]
        t = time.perf_counter_ns()
        fn_one(q)
        times[i] = (time.perf_counter_ns() - t) / 1e6
    return {"p50_ms": float(np.percentile(times, 50)), "p99_ms": float(np.percentile(times, 99)),
            "mean_ms": float(times.mean())}


class Ctx:
    def __init__(self, args, wl):
        self.args = args
        self.wl = wl
        self.corpus = wl["corpus"]
        self.queries = wl["queries"][: args.queries] if args.queries else wl["queries"]
        self.gt = wl["gt"][: len(self.queries)]
        self.dim = wl["meta"]["dim"]
        self.k = args.k
        self.tmp = tempfile.mkdtemp(prefix="search-peer-", dir=args.tmp_dir)

    def tmpfile(self, name: str) -> str:
        return os.path.join(self.tmp, name)


def search_rows(ctx: Ctx, method: str, params: dict, batch_for_threads, one, build: dict) -> dict:
    """batch_for_threads(t) -> (nq, k) ids using t threads; one(q) -> single-query search with 1 thread."""
    args = ctx.args
    qps = {}
    ids0 = None
    batch_seconds = {}
    for t in args.threads:
        batch_for_threads(t)(ctx.queries[: min(16, len(ctx.queries))])  # warm-up
        secs, ids = time_batch(lambda: batch_for_threads(t)(ctx.queries), args.reps)
        if ids0 is None:
            ids0 = ids
        qps[str(t)] = len(ctx.queries) / secs
        batch_seconds[str(t)] = secs
    lat = latency(one, ctx.queries, args.latency_queries)
    row = {"method": method, "params": params, "recall_at_10": recall_at_10(ids0, ctx.gt)}
    row.update(build)
    row.update({"qps": qps, "batch_seconds": batch_seconds, "queries": len(ctx.queries)})
    row.update(lat)
    return row


# ---------------------------------------------------------------------------------------------------------------
# faiss


def faiss_set_threads(t: int) -> None:
    import faiss

    faiss.omp_set_num_threads(t)


def faiss_save_load(ctx: Ctx, index, name: str, check_q: np.ndarray, check_fn) -> dict:
    """Write index, time read_index (and mmap view); the reloaded index must answer check_q like the original."""
    import faiss

    path = ctx.tmpfile(name)
    faiss.write_index(index, path)
    out = {"memory_bytes": os.path.getsize(path)}
    t = time.perf_counter()
    loaded = faiss.read_index(path)
    out["load_seconds"] = time.perf_counter() - t
    if check_fn(loaded) != check_fn(index):
        raise PeerError(f"{name}: reloaded index answers differently")
    del loaded
    try:
        t = time.perf_counter()
        viewed = faiss.read_index(path, faiss.IO_FLAG_MMAP_IFC)
        out["view_seconds"] = time.perf_counter() - t
        out["view_mode"] = "faiss.IO_FLAG_MMAP_IFC"
        if check_fn(viewed) != check_fn(index):
            raise PeerError(f"{name}: mmap-viewed index answers differently")
        del viewed
    except (RuntimeError, AttributeError) as e:  # flag not supported for this index type
        out["view_error"] = str(e).splitlines()[0][:200]
    os.remove(path)
    return out


def build_stats(t0: float, rss0: float) -> dict:
    return {"build_seconds": time.perf_counter() - t0, "rss_mb": vm_rss_mb(), "rss_delta_mb": vm_rss_mb() - rss0,
            "peak_rss_mb": peak_rss_mb()}


def run_faiss_flat(ctx: Ctx) -> list[dict]:
    import faiss

    k, bt = ctx.k, ctx.args.build_threads
    faiss_set_threads(bt)
    rss0 = vm_rss_mb()
    t0 = time.perf_counter()
    index = faiss.IndexFlatIP(ctx.dim)
    index.add(ctx.corpus)
    build = build_stats(t0, rss0)
    check = lambda ix: ix.search(ctx.queries[:4], k)[1].tolist()  # noqa: E731
    build.update(faiss_save_load(ctx, index, "flat.faiss", ctx.queries[:4], check))

    def batch(t):
        def f(q):
            faiss_set_threads(t)
            return index.search(q, k)[1]
        return f

    def one(q):
        return index.search(q[None, :], k)

    rows = [search_rows(ctx, "faiss-flat", {"k": k, "buildThreads": bt}, batch, _Faiss1(one), build)]
    del index
    return rows


class _Faiss1:
    """Single-query callable that makes sure faiss runs with 1 OpenMP thread."""

    def __init__(self, fn):
        self.fn = fn
        self.ready = False

    def __call__(self, q):
        if not self.ready:
            faiss_set_threads(1)
            self.ready = True
        return self.fn(q)


def run_faiss_hnsw(ctx: Ctx) -> list[dict]:
    import faiss

    a, k, bt = ctx.args, ctx.k, ctx.args.build_threads
    faiss_set_threads(bt)
    rss0 = vm_rss_mb()
    t0 = time.perf_counter()
    index = faiss.IndexHNSWFlat(ctx.dim, a.M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = a.ef_construction
    index.add(ctx.corpus)
    build = build_stats(t0, rss0)

    def check(ix):
        ix.hnsw.efSearch = 64
        return ix.search(ctx.queries[:4], k)[1].tolist()

    build.update(faiss_save_load(ctx, index, "hnsw.faiss", ctx.queries[:4], check))
    rows = []
    for ef in a.ef:
        index.hnsw.efSearch = ef

        def batch(t):
            def f(q):
                faiss_set_threads(t)
                return index.search(q, k)[1]
            return f

        params = {"k": k, "M": a.M, "efConstruction": a.ef_construction, "ef": ef, "buildThreads": bt}
        rows.append(search_rows(ctx, "faiss-hnsw", params, batch, _Faiss1(lambda q: index.search(q[None, :], k)),
                                build))
        log_row(rows[-1])
    del index
    return rows


def int8_quantise(corpus: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """sentence-transformers' int8 recipe with corpus ranges; returns codes, mins, steps (steps may be 0)."""
    mins = corpus.min(axis=0)
    maxs = corpus.max(axis=0)
    steps = (maxs - mins) / np.float32(255)
    safe = np.where(steps > 0, steps, np.float32(1))
    codes = np.empty(corpus.shape, dtype=np.int8)
    for s in range(0, len(corpus), 65536):
        c = np.floor((corpus[s:s + 65536] - mins) / safe) - 128
        codes[s:s + 65536] = np.clip(c, -128, 127)
    return codes, mins.astype(np.float32), steps.astype(np.float32)


def run_faiss_binary(ctx: Ctx, want_i8: bool, want_f32: bool) -> list[dict]:
    import faiss

    a, k, bt = ctx.args, ctx.k, ctx.args.build_threads
    if ctx.dim % 8:
        raise PeerError(f"faiss-binary needs dim divisible by 8, got {ctx.dim}")
    cand = k * a.rescore_multiplier
    faiss_set_threads(bt)
    rss0 = vm_rss_mb()
    t0 = time.perf_counter()
    bits = np.packbits(ctx.corpus > 0, axis=1)  # dim i -> bit (0x80 >> (i & 7)) of byte i >> 3
    index = faiss.IndexBinaryFlat(ctx.dim)
    index.add(bits)
    del bits
    bin_seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    codes, mins, steps = int8_quantise(ctx.corpus) if want_i8 else (None, None, None)
    q8_seconds = time.perf_counter() - t1
    rss_after = vm_rss_mb()

    # load/view: binary index + the rescoring matrix (.npy)
    bpath = ctx.tmpfile("binary.faissb")
    faiss.write_index_binary(index, bpath)
    bin_bytes = os.path.getsize(bpath)
    t = time.perf_counter()
    bl = faiss.read_index_binary(bpath)
    bin_load = time.perf_counter() - t
    if bl.search(np.packbits(ctx.queries[:4] > 0, axis=1), cand)[1].tolist() != \
            index.search(np.packbits(ctx.queries[:4] > 0, axis=1), cand)[1].tolist():
        raise PeerError("faiss-binary: reloaded index answers differently")
    del bl
    os.remove(bpath)

    def npy_load(arr, name):
        p = ctx.tmpfile(name)
        np.save(p, arr)
        t = time.perf_counter()
        loaded = np.load(p)
        load = time.perf_counter() - t
        t = time.perf_counter()
        view = np.load(p, mmap_mode="r")
        vs = time.perf_counter() - t
        assert np.array_equal(loaded[:3], arr[:3]) and np.array_equal(view[:3], arr[:3])
        del loaded, view
        os.remove(p)
        return load, vs

    def candidates(q: np.ndarray) -> np.ndarray:
        return index.search(np.packbits(q > 0, axis=1), cand)[1]

    def rescore_chunk(q, ids, mat, kind):
        valid = ids >= 0
        safe_ids = np.where(valid, ids, 0)
        if kind == "i8":
            qs = q * steps  # score = q.mins + sum_i q_i step_i (code_i + 128.5)
            bias = q @ mins + np.float32(128.5) * qs.sum(axis=1)
            sc = np.einsum("qcd,qd->qc", codes[safe_ids].astype(np.float32), qs) + bias[:, None]
        else:
            sc = np.einsum("qcd,qd->qc", mat[safe_ids], q)
        sc = np.where(valid, sc, -np.inf)
        order = np.argsort(-sc, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(ids, order, axis=1)

    def pipeline(q, t, kind):
        faiss_set_threads(t)
        ids = candidates(q)
        mat = codes if kind == "i8" else ctx.corpus
        step = 256
        chunks = [(s, min(s + step, len(q))) for s in range(0, len(q), step)]
        if t <= 1 or len(chunks) == 1:
            return np.concatenate([rescore_chunk(q[s:e], ids[s:e], mat, kind) for s, e in chunks])
        with ThreadPoolExecutor(t) as ex:  # numpy releases the GIL in einsum / casts / fancy indexing
            return np.concatenate(list(ex.map(lambda se: rescore_chunk(q[se[0]:se[1]], ids[se[0]:se[1]], mat, kind),
                                              chunks)))

    rows = []
    variants = ([("i8", "faiss-binary")] if want_i8 else []) + ([("f32", "faiss-binary-f32rescore")] if want_f32 else [])
    for kind, name in variants:
        if kind == "i8":
            ld, vw = npy_load(codes, "codes.npy")
            extra = codes.nbytes + mins.nbytes + steps.nbytes
            bsec = bin_seconds + q8_seconds
        else:
            ld, vw = npy_load(ctx.corpus, "corpus.npy")
            extra = ctx.corpus.nbytes
            bsec = bin_seconds
        build = {"build_seconds": bsec, "rss_mb": rss_after, "rss_delta_mb": rss_after - rss0,
                 "peak_rss_mb": peak_rss_mb(), "memory_bytes": bin_bytes + extra,
                 "memory_breakdown": {"binary_index": bin_bytes, "rescore_matrix": extra},
                 "load_seconds": bin_load + ld, "view_seconds": bin_load + vw,
                 "view_mode": "faiss.read_index_binary + np.load(mmap_mode='r') of the rescoring matrix"}
        params = {"k": k, "rescoreMultiplier": a.rescore_multiplier, "candidates": cand, "rescore": kind,
                  "buildThreads": bt}
        rows.append(search_rows(ctx, name, params, lambda t, kind=kind: (lambda q: pipeline(q, t, kind)),
                                _Faiss1(lambda q, kind=kind: pipeline(q[None, :], 1, kind)), build))
        log_row(rows[-1])
    del index, codes
    return rows


# ---------------------------------------------------------------------------------------------------------------
# usearch


def run_usearch_exact(ctx: Ctx) -> list[dict]:
    from usearch.index import MetricKind, search

    k = ctx.k

    def batch(t):
        return lambda q: search(ctx.corpus, q, k, MetricKind.IP, exact=True, threads=t).keys.astype(np.int64)

    def one(q):
        return search(ctx.corpus, q, k, MetricKind.IP, exact=True, threads=1)

    build = {"build_seconds": 0.0, "memory_bytes": ctx.corpus.nbytes, "rss_mb": vm_rss_mb(), "rss_delta_mb": 0.0,
             "peak_rss_mb": peak_rss_mb(), "note": "brute force over the corpus array itself; no index"}
    return [search_rows(ctx, "usearch-exact", {"k": k}, batch, one, build)]


def _usearch_ids(m, k) -> np.ndarray:
    keys = m.keys.astype(np.int64)
    counts = np.asarray(m.counts)
    mask = np.arange(keys.shape[1])[None, :] >= counts[:, None]
    keys[mask] = -1
    return keys


def run_usearch_hnsw(ctx: Ctx, dtype: str) -> list[dict]:
    from usearch.index import Index

    a, k, bt = ctx.args, ctx.k, ctx.args.build_threads
    rss0 = vm_rss_mb()
    t0 = time.perf_counter()
    index = Index(ndim=ctx.dim, metric="ip", dtype=dtype, connectivity=a.M, expansion_add=a.ef_construction,
                  expansion_search=64)
    index.add(np.arange(len(ctx.corpus), dtype=np.uint64), ctx.corpus, threads=bt)
    build = build_stats(t0, rss0)
    build["memory_usage_bytes"] = int(index.memory_usage)  # includes usearch's reserved capacity / arenas
    path = ctx.tmpfile(f"usearch-{dtype}.usearch")
    index.save(path)
    build["memory_bytes"] = os.path.getsize(path)  # serialized size, comparable with faiss's
    ref = _usearch_ids(index.search(ctx.queries[:4], k, threads=1), k).tolist()
    t = time.perf_counter()
    loaded = Index.restore(path)
    build["load_seconds"] = time.perf_counter() - t
    loaded.expansion_search = 64
    if _usearch_ids(loaded.search(ctx.queries[:4], k, threads=1), k).tolist() != ref:
        raise PeerError(f"usearch-hnsw-{dtype}: restored index answers differently")
    del loaded
    t = time.perf_counter()
    viewed = Index.restore(path, view=True)
    build["view_seconds"] = time.perf_counter() - t
    build["view_mode"] = "usearch Index.restore(view=True)"
    viewed.expansion_search = 64
    if _usearch_ids(viewed.search(ctx.queries[:4], k, threads=1), k).tolist() != ref:
        raise PeerError(f"usearch-hnsw-{dtype}: viewed index answers differently")
    del viewed
    os.remove(path)
    accel = index.hardware_acceleration
    rows = []
    for ef in a.ef:
        index.expansion_search = ef

        def batch(t):
            return lambda q: _usearch_ids(index.search(q, k, threads=t), k)

        params = {"k": k, "M": a.M, "efConstruction": a.ef_construction, "ef": ef, "dtype": dtype,
                  "buildThreads": bt, "hardwareAcceleration": accel}
        rows.append(search_rows(ctx, f"usearch-hnsw-{dtype}", params, batch,
                                lambda q: index.search(q, k, threads=1), build))
        log_row(rows[-1])
    del index
    return rows


# ---------------------------------------------------------------------------------------------------------------
# memory bandwidth context


def run_membw(ctx: Ctx) -> list[dict]:
    arr = ctx.corpus
    arr.sum()
    best = math.inf
    for _ in range(5):
        t = time.perf_counter()
        arr.sum(dtype=np.float32)
        best = min(best, time.perf_counter() - t)
    return [{"method": "membw", "params": {"bytes": arr.nbytes, "op": "np.ndarray.sum (float32, 1 thread)",
                                           "reps": 5},
             "gb_per_s": arr.nbytes / best / 1e9, "seconds": best,
             "note": "context only; a corpus that fits in cache reads faster than DRAM"}]


# ---------------------------------------------------------------------------------------------------------------
# output


def fmt_row(r: dict) -> str:
    if r["method"] == "membw":
        return f"{'membw':26s} {r['params']['bytes'] / 1e6:9.1f} MB streamed at {r['gb_per_s']:.1f} GB/s"
    p = r["params"]
    setting = ""
    if "ef" in p:
        setting = f"ef={p['ef']}"
    elif "candidates" in p:
        setting = f"cand={p['candidates']}"
    qps = " ".join(f"{t}t:{v:9.0f}" for t, v in r["qps"].items())
    mem = r.get("memory_bytes", 0) / 1e6
    load = r.get("load_seconds")
    load_s = f"{load * 1e3:8.1f}" if load is not None else f"{'-':>8s}"
    return (f"{r['method']:26s} {setting:10s} {r['recall_at_10']:6.4f} {r['build_seconds']:8.2f} {mem:9.1f} "
            f"{load_s} {qps}  {r['p50_ms']:7.3f} {r['p99_ms']:7.3f}")


HEADER = (f"{'method':26s} {'setting':10s} {'rec@10':>6s} {'build_s':>8s} {'mem_MB':>9s} {'load_ms':>8s} "
          f"qps(threads)  p50_ms  p99_ms")


def log_row(r: dict) -> None:
    log("  " + fmt_row(r))


def versions() -> dict:
    v = {"python": platform.python_version(), "numpy": np.__version__}
    try:
        import faiss

        v["faiss"] = faiss.__version__
        v["faissCompileOptions"] = faiss.get_compile_options().strip()
        v["faissOmpMaxThreads"] = faiss.omp_get_max_threads()
    except ImportError:
        v["faiss"] = None
    try:
        import usearch

        v["usearch"] = usearch.__version__
    except ImportError:
        v["usearch"] = None
    return v


def write_out(path: str, doc: dict) -> None:
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    _write_atomic(path, (json.dumps(doc, indent=2) + "\n").encode())


# ---------------------------------------------------------------------------------------------------------------


def int_list(s: str) -> list[int]:
    try:
        vals = [int(x) for x in s.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {s!r}")
    if not vals or min(vals) <= 0:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {s!r}")
    return vals


def parse_args(argv):
    p = argparse.ArgumentParser(description="faiss/usearch peer for semsearch's vector-search benchmark",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--workload", help="workload folder (meta.json, corpus.f32, queries.f32, gt.i32)")
    p.add_argument("--methods", default=",".join(DEFAULT_METHODS), help="comma list of: " + ", ".join(ALL_METHODS))
    p.add_argument("--threads", type=int_list, default=[1], help="thread counts for batch QPS, e.g. 1,2")
    p.add_argument("--build-threads", type=int, default=None, help="threads for index building (default: max --threads)")
    p.add_argument("--queries", type=int, default=0, help="use the first N queries (0 = all)")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--M", type=int, default=16, help="HNSW connectivity")
    p.add_argument("--ef-construction", type=int, default=128)
    p.add_argument("--ef", type=int_list, default=[16, 32, 64, 128, 256], help="HNSW search expansions")
    p.add_argument("--rescore-multiplier", type=int, default=4)
    p.add_argument("--latency-queries", type=int, default=300)
    p.add_argument("--reps", type=int, default=3, help="batch QPS: best of this many full runs")
    p.add_argument("--tmp-dir", default=None, help="where indexes are saved for the load test")
    p.add_argument("--out", help="results JSON (rewritten after every method)")
    g = p.add_argument_group("synthetic workload")
    g.add_argument("--make-synthetic", metavar="DIR", help="write a synthetic workload to DIR and exit")
    g.add_argument("--rows", type=int, default=20000)
    g.add_argument("--dim", type=int, default=384)
    g.add_argument("--nq", type=int, default=200)
    g.add_argument("--seed", type=int, default=42)
    args = p.parse_args(argv)
    if args.make_synthetic:
        return args
    if not args.workload or not args.out:
        p.error("--workload and --out are required (or --make-synthetic DIR)")
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    bad = [m for m in args.methods if m not in ALL_METHODS]
    if bad:
        p.error(f"unknown method(s) {bad}; valid: {', '.join(ALL_METHODS)}")
    if args.k < 10:
        p.error("--k must be >= 10 (recall@10 is reported)")
    for name in ("queries", "latency_queries", "reps", "M", "ef_construction", "rescore_multiplier"):
        if getattr(args, name) < (0 if name == "queries" else 1):
            p.error(f"--{name.replace('_', '-')} must be positive")
    if args.build_threads is None:
        args.build_threads = max(args.threads)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        if args.make_synthetic:
            make_synthetic(args.make_synthetic, args.rows, args.dim, args.nq, args.seed)
            return 0
        wl = load_workload(args.workload)
        meta = wl["meta"]
        if args.queries > meta["queryRows"]:
            raise PeerError(f"--queries {args.queries} > queryRows {meta['queryRows']}")
        if meta["gtK"] < 10:
            raise PeerError(f"gtK {meta['gtK']} < 10: cannot compute recall@10")
        if args.k > meta["corpusRows"]:
            raise PeerError(f"--k {args.k} > corpusRows {meta['corpusRows']}")
        ncpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        if max(args.threads + [args.build_threads]) > (ncpu or 1):
            log(f"warning: asking for {max(args.threads + [args.build_threads])} threads on {ncpu} CPUs")
        if not meta.get("normalized", True):
            log("warning: meta.json says vectors are not normalised; all methods rank by raw inner product")
        ctx = Ctx(args, wl)
        doc = {
            "cpu": cpu_info(),
            "versions": versions(),
            "workload": {**{k: v for k, v in meta.items()}, "folder": wl["folder"], "queriesUsed": len(ctx.queries)},
            "settings": {"threads": args.threads, "buildThreads": args.build_threads, "k": args.k, "M": args.M,
                         "efConstruction": args.ef_construction, "ef": args.ef,
                         "rescoreMultiplier": args.rescore_multiplier, "latencyQueries": args.latency_queries,
                         "reps": args.reps, "methods": args.methods},
            "startedAt": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "results": [],
        }
        log(f"workload {meta.get('name')}: {meta['corpusRows']} x {meta['dim']}, {len(ctx.queries)} queries; "
            f"cpu {doc['cpu']['model']}; {doc['versions']}")
        log(HEADER)
        done_binary = False
        for m in args.methods:
            t = time.perf_counter()
            if m == "faiss-flat":
                rows = run_faiss_flat(ctx)
            elif m == "faiss-hnsw":
                rows = run_faiss_hnsw(ctx)
            elif m in ("faiss-binary", "faiss-binary-f32rescore"):
                if done_binary:
                    continue
                done_binary = True
                rows = run_faiss_binary(ctx, want_i8="faiss-binary" in args.methods,
                                        want_f32=True)  # the f32 rescoring variant always comes along
            elif m == "usearch-exact":
                rows = run_usearch_exact(ctx)
            elif m.startswith("usearch-hnsw-"):
                rows = run_usearch_hnsw(ctx, m.rsplit("-", 1)[1])
            elif m == "membw":
                rows = run_membw(ctx)
            else:  # parse_args already rejects these
                raise PeerError(f"unknown method {m}")
            if m in ("faiss-flat", "usearch-exact", "membw"):
                for r in rows:
                    log_row(r)
            doc["results"].extend(rows)
            doc["finishedAt"] = datetime.datetime.now(datetime.timezone.utc).isoformat()
            write_out(args.out, doc)
            gc.collect()
            log(f"  ({m}: {time.perf_counter() - t:.1f}s, VmRSS {vm_rss_mb():.0f} MB)")
        try:
            os.rmdir(ctx.tmp)
        except OSError:
            pass
        log(f"wrote {args.out}")
        return 0
    except PeerError as e:
        log(f"search_peer: error: {e}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
