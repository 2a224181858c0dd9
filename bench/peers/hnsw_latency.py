"""FAISS HNSW single-query latency, repeatable (bench only; issue 32's HNSW overhead check).

search_peer.py builds its graph on every run; on a shared machine, comparing semsearch with FAISS needs several
short runs interleaved with semsearch's (bench/hnsw-overhead.ts), so this builds faiss.IndexHNSWFlat once (M 16,
efConstruction 128, inner product, as search_peer.py does), keeps it in --index, and each run only times one query
at a time on one thread, as search_peer.py's latency does, over --queries queries × --rounds rounds:

    python bench/peers/hnsw_latency.py --workload DIR --index /tmp/hnsw-faiss.index --ef 16,32,64,128

Prints one markdown row per ef: recall@10 (over the timed queries), p50 and p99 ms.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from search_peer import load_workload, recall_at_10


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workload", required=True)
    p.add_argument("--index", required=True, help="faiss index file: built and written when absent")
    p.add_argument("--ef", default="16,32,64,128")
    p.add_argument("--queries", type=int, default=300)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--k", type=int, default=10)
    a = p.parse_args()
    import faiss

    wl = load_workload(a.workload)
    corpus, queries, gt = wl["corpus"], wl["queries"], wl["gt"]
    if os.path.exists(a.index):
        index = faiss.read_index(a.index)
    else:
        faiss.omp_set_num_threads(2)
        t = time.perf_counter()
        index = faiss.IndexHNSWFlat(corpus.shape[1], 16, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 128
        index.add(corpus)
        print(f"built in {time.perf_counter() - t:.1f} s")
        faiss.write_index(index, a.index)
    faiss.omp_set_num_threads(1)
    nq = min(a.queries, len(queries))
    print(f"faiss {faiss.__version__}; {len(corpus)} x {corpus.shape[1]}, {nq} queries x {a.rounds} rounds")
    print("| ef | recall@10 | p50 ms | p99 ms |")
    print("|---|---|---|---|")
    for ef in [int(x) for x in a.ef.split(",")]:
        index.hnsw.efSearch = ef
        recall = recall_at_10(index.search(queries[:nq], a.k)[1], gt[:nq])
        for i in range(10):  # warm-up
            index.search(queries[i][None, :], a.k)
        times = []
        for _ in range(a.rounds):
            for i in range(nq):
                q = queries[i][None, :]
                t = time.perf_counter_ns()
                index.search(q, a.k)
                times.append((time.perf_counter_ns() - t) / 1e6)
        ts = np.array(times)
        print(f"| {ef} | {recall:.4f} | {np.percentile(ts, 50):.3f} | {np.percentile(ts, 99):.3f} |")


if __name__ == "__main__":
    main()
