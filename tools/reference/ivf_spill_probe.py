"""Recall probe only (issue 32): would spilling each row into a second IVF list lift recall@10 per row scanned on the
real 768-dim workload? Never ships: semsearch's install and tests never need Python.

Reads a workload of bench/search-workload.ts (~/.cache/semsearch/search-workload/NAME) and emulates semsearch's IVF
path in numpy: k-means (Lloyd, --iterations, centroids start at seeded sampled rows), nearest-centroid (L2) lists and
probing, a hamming scan of the sign bits of the probed lists' rows, the best 10 x --rescore by (distance, row), then
rescoring with float32 dot products (semsearch rescores with int8 rows: within 0.004 of its recall here). Three ways
to fill the lists: "plain" (each row in its nearest list, as semsearch does), "spill2" (also in its second-nearest
list) and "soar" (also in the list minimising ||x - c||^2 + lambda (r.(x - c))^2 / ||r||^2, r the residual to the
nearest centroid: Sun et al., SOAR, NeurIPS 2023). "rows" counts every listed copy scanned, the cost of a probe.

    /root/venvs/ref/bin/python tools/reference/ivf_spill_probe.py mpnet-768-10k --nlist 100 --nprobe 10,20,25,33,50
"""

import argparse
import json
from pathlib import Path

import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("name")
ap.add_argument("--nlist", type=int, required=True)
ap.add_argument("--nprobe", required=True)
ap.add_argument("--iterations", type=int, default=4)
ap.add_argument("--rescore", type=int, default=10)
ap.add_argument("--lam", type=float, default=1.0)
ap.add_argument("--modes", default="plain,spill2,soar")
a = ap.parse_args()

d = Path.home() / ".cache/semsearch/search-workload" / a.name
meta = json.loads((d / "meta.json").read_text())
dim, n, nq = meta["dim"], meta["corpusRows"], meta["queryRows"]
X = np.fromfile(d / "corpus.f32", dtype=np.float32).reshape(n, dim)
Q = np.fromfile(d / "queries.f32", dtype=np.float32).reshape(nq, dim)
gt = np.fromfile(d / "gt.i32", dtype=np.int32).reshape(nq, meta["gtK"])[:, :10]
nlist = a.nlist

rng = np.random.default_rng(1)
C = X[rng.choice(n, nlist, replace=False)].copy()


def scores(A):
    return A @ C.T - 0.5 * (C * C).sum(1)


for _ in range(a.iterations):
    near = np.argmax(scores(X), 1)
    for l in range(nlist):
        m = near == l
        if m.any():
            C[l] = X[m].mean(0)
s = scores(X)
order_rows = np.argsort(-s, 1)
prim, second = order_rows[:, 0], order_rows[:, 1]
r = X - C[prim]
rn = (r * r).sum(1, keepdims=True)
d2 = (X * X).sum(1, keepdims=True) - 2 * (X @ C.T) + (C * C).sum(1)[None, :]
proj = (r * X).sum(1, keepdims=True) - r @ C.T
loss = d2 + a.lam * proj**2 / np.maximum(rn, 1e-12)
loss[np.arange(n), prim] = np.inf
soar = np.argmin(loss, 1)

bits = np.packbits(X > 0, axis=1)
qbits = np.packbits(Q > 0, axis=1)
popcount = np.array([bin(i).count("1") for i in range(256)], dtype=np.int32)
probe_order = np.argsort(-scores(Q), 1)


def run(assignments, probes):
    members = [[] for _ in range(nlist)]
    for arr in assignments:
        for i, l in enumerate(arr):
            members[l].append(i)
    members = [np.array(m, dtype=np.int64) for m in members]
    sizes = np.array([len(m) for m in members])
    out = []
    for p in probes:
        hits = scanned = 0
        for qi in range(nq):
            ls = probe_order[qi, :p]
            rows = np.unique(np.concatenate([members[l] for l in ls]))
            scanned += sizes[ls].sum()
            ham = popcount[np.bitwise_xor(bits[rows], qbits[qi])].sum(1)
            cand = rows[np.lexsort((rows, ham))[: 10 * a.rescore]]
            top = cand[np.argsort(-(X[cand] @ Q[qi]), kind="stable")[:10]]
            hits += len(set(top.tolist()) & set(gt[qi].tolist()))
        out.append({"nprobe": p, "rows": round(float(scanned) / nq / n, 4), "recallAt10": round(hits / nq / 10, 4)})
    return out


modes = {"plain": [prim], "spill2": [prim, second], "soar": [prim, soar]}
for mode in a.modes.split(","):
    res = run(modes[mode], [int(x) for x in a.nprobe.split(",")])
    print(json.dumps({"workload": a.name, "nlist": nlist, "iterations": a.iterations, "rescore": a.rescore, "mode": mode, "points": res}))
