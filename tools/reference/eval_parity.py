"""Reference values for semsearch's evaluation metrics (src/eval), computed by the tools users trust.

    ~/venvs/ref/bin/pip install -r tools/reference/requirements-eval.txt
    ~/venvs/ref/bin/python tools/reference/eval_parity.py

Writes src/eval/fixtures/parity/*.json (and the synthetic inputs), which src/eval/parity.test.ts compares
with semsearch's own numbers, query by query, to 1e-6:

- trec_eval semantics by pytrec_eval (trec_eval 9 compiled in), reading qrels and runs with pytrec_eval's
  own parse_qrel / parse_run and aggregating with its compute_aggregated_measure;
- sentence-transformers semantics by InformationRetrievalEvaluator itself: each query's run is fed to
  compute_all_metrics as a corpus whose "embeddings" are the run scores (float64, one document per
  corpus chunk, in run-file order), so the evaluator's own heap, tie order and formulas produce the values.

Inputs: the six retrievers' DL19 and DL20 run files in ../shared/data/msmarco-passage-trec-dl-candidates
with the graded qrels in ../shared/data/msmarco-passage-topics-qrels (relevance level 2, as TREC DL uses
for its binary measures), and a seeded synthetic case built here to hit every tie and edge rule.

Python is a reference only: nothing here is needed to install or test semsearch.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import math
import os
import platform
import random
import sys
from pathlib import Path

import numpy as np
import pytrec_eval
import torch
from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
OUT = REPO / "src" / "eval" / "fixtures" / "parity"

RETRIEVERS = ["BM25", "BM25_RM3", "D_BERT_KD_TASB", "OPEN_AI_ADA2", "SPLADE_P_P_ENSEMBLE_DISTIL", "REP_LLAMA"]

# pytrec_eval measure specs and the per-query names they produce, in report order.
TREC_SPECS = [
    "ndcg_cut.5,10,20,100,1000",
    "ndcg",
    "map",
    "map_cut.10,100,1000",
    "recip_rank",
    "recall.5,10,100,1000",
    "P.5,10,20,100",
    "Rprec",
    "success.1,5,10",
    "num_ret",
    "num_rel",
    "num_rel_ret",
]
TREC_NAMES = (
    [f"ndcg_cut_{k}" for k in (5, 10, 20, 100, 1000)]
    + ["ndcg", "map"]
    + [f"map_cut_{k}" for k in (10, 100, 1000)]
    + ["recip_rank"]
    + [f"recall_{k}" for k in (5, 10, 100, 1000)]
    + [f"P_{k}" for k in (5, 10, 20, 100)]
    + ["Rprec"]
    + [f"success_{k}" for k in (1, 5, 10)]
    + ["num_ret", "num_rel", "num_rel_ret"]
)

ST_K = [1, 3, 5, 10, 100]
ST_GROUPS = ["accuracy", "precision", "recall", "mrr", "ndcg", "map"]
ST_NAMES = [f"{g}@{k}" for g in ST_GROUPS for k in ST_K]


def num(v: float) -> float:
    # 12 significant digits: 5e-13 from the double, far inside the tests' 1e-6, and a third smaller on disk.
    return float(f"{v:.12g}")


def trec_block(qrels: dict, run: dict, level: int) -> dict:
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, set(TREC_SPECS), relevance_level=level)
    per_query = evaluator.evaluate(run)
    missing = [m for m in TREC_NAMES if per_query and m not in next(iter(per_query.values()))]
    assert not missing, f"pytrec_eval did not return {missing}"
    return {
        "relevance_level": level,
        "measures": TREC_NAMES,
        "per_query": {qid: [num(v[m]) for m in TREC_NAMES] for qid, v in per_query.items()},
        "aggregate": [
            num(pytrec_eval.compute_aggregated_measure(m, [v[m] for v in per_query.values()])) for m in TREC_NAMES
        ],
    }


class RunAsCorpus(InformationRetrievalEvaluator):
    """The evaluator with the model taken out: queries embed to a dummy, and the "corpus embeddings" passed
    to compute_all_metrics are the run scores themselves, returned by the score function unchanged."""

    def embed_inputs(self, model, sentences, **kwargs):  # noqa: ARG002
        return torch.zeros((len(sentences), 1), dtype=torch.float64)


def pass_scores(query_embeddings: torch.Tensor, corpus_scores: torch.Tensor) -> torch.Tensor:
    return corpus_scores.T.expand(query_embeddings.shape[0], -1)


def st_query(qid: str, hits: list[tuple[str, float]], relevant: set[str]) -> list[float]:
    evaluator = RunAsCorpus(
        queries={qid: "query"},
        corpus={docid: "" for docid, _ in hits},
        relevant_docs={qid: relevant},
        corpus_chunk_size=1,  # one document per chunk: the heap sees the run in file order
        accuracy_at_k=ST_K,
        precision_recall_at_k=ST_K,
        mrr_at_k=ST_K,
        ndcg_at_k=ST_K,
        map_at_k=ST_K,
        score_functions={"run": pass_scores},
        write_csv=False,
    )
    scores = torch.tensor([s for _, s in hits], dtype=torch.float64).reshape(-1, 1)
    result = evaluator.compute_all_metrics(model=None, corpus_embeddings=scores)["run"]
    return [float(result[f"{g}@k"][k]) for g in ST_GROUPS for k in ST_K]


def st_block(qrels: dict, run_lines: dict, level: int) -> dict:
    per_query = {}
    for qid, judged in qrels.items():
        relevant = {d for d, r in judged.items() if r >= level}
        if not relevant:
            continue  # the evaluator keeps only queries with a relevant document
        per_query[qid] = st_query(qid, run_lines.get(qid, []), relevant)
    values = np.array(list(per_query.values()), dtype=np.float64)
    return {
        "relevance_level": level,
        "k": ST_K,
        "measures": ST_NAMES,
        "per_query": {qid: [num(v) for v in vals] for qid, vals in per_query.items()},
        "aggregate": [num(v) for v in values.mean(axis=0)],
    }


def read_run_lines(path: Path) -> dict[str, list[tuple[str, float]]]:
    """Each query's (docid, score) in file order: the order the evaluator's heap receives them."""
    out: dict[str, list[tuple[str, float]]] = {}
    with path.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            qid, _, docid, _, score, _ = line.split()
            out.setdefault(qid, []).append((docid, float(score)))
    return out


def case(name: str, qrels_path: Path, run_path: Path, trec_levels: list[int], st_levels: list[int]) -> dict:
    with qrels_path.open(encoding="utf-8") as f:
        qrels = pytrec_eval.parse_qrel(f)
    with run_path.open(encoding="utf-8") as f:
        run = pytrec_eval.parse_run(f)
    run_lines = read_run_lines(run_path)
    return {
        "case": name,
        # Relative to the repository root, as the tests resolve them (../shared/data/... for the real runs).
        "qrels": Path(os.path.relpath(qrels_path.resolve(), REPO)).as_posix(),
        "run": Path(os.path.relpath(run_path.resolve(), REPO)).as_posix(),
        "trec": [trec_block(qrels, run, lv) for lv in trec_levels],
        "st": [st_block(qrels, run_lines, lv) for lv in st_levels],
    }


def synthetic(dir: Path) -> tuple[Path, Path]:
    """A small qrels + run that exercises every rule where implementations part ways."""
    rng = random.Random(20240601)
    qrels: list[tuple[str, str, int]] = []
    run: list[tuple[str, str, float]] = []

    # t1: docno tie-breaks. Equal scores, ids whose string order differs from numeric and from UTF-16 order,
    # and two scores equal in float32 but not in float64 (trec_eval keeps sims as float).
    t1 = [("9", 2.0), ("10", 2.0), ("100", 2.0), ("a", 1.5), ("B", 1.5), ("é", 1.5), ("z", 1.5),
          ("\ufffd", 1.0), ("\U0001f600", 1.0), ("f64hi", 0.1 + 1e-12), ("f64lo", 0.1), ("neg", -3.0), ("zero", 0.0)]
    run += [("t1", d, s) for d, s in t1]
    qrels += [("t1", "10", 1), ("t1", "9", 0), ("t1", "B", 3), ("t1", "é", 2), ("t1", "\U0001f600", 2),
              ("t1", "f64lo", 3), ("t1", "f64hi", 0), ("t1", "zero", 1), ("t1", "unretrieved", 2)]

    # t2: 150 hits with heavy ties around the evaluator's heap cut (max_k = 100).
    for i in range(150):
        d = f"p{rng.randrange(10**6)}"
        while any(x[1] == d for x in run if x[0] == "t2"):
            d = f"p{rng.randrange(10**6)}"
        run.append(("t2", d, round(rng.choice([0.9, 0.5, 0.5, 0.5, 0.2]) + rng.choice([0, 0, 0.01]), 2)))
        if rng.random() < 0.3:
            qrels.append(("t2", d, rng.choice([1, 2, 3])))
    qrels.append(("t2", "never-retrieved", 3))

    # t3 in the run only; t4 judged only; t5 judged but nothing relevant at level 1 or 2.
    run += [("t3", "x", 1.0), ("t3", "y", 0.5)]
    qrels += [("t4", "x", 2), ("t4", "y", 0)]
    run += [("t5", "a", 3.0), ("t5", "b", 2.0)]
    qrels += [("t5", "a", 0), ("t5", "b", 0)]

    # t6: negative judgments (unjudged in trec_eval), grades with a gap (3 and 1, no 2).
    run += [("t6", "m1", 5.0), ("t6", "m2", 4.0), ("t6", "m3", 3.0), ("t6", "m4", 3.0), ("t6", "m5", 1.0)]
    qrels += [("t6", "m1", -1), ("t6", "m2", 1), ("t6", "m4", 3), ("t6", "m5", 1), ("t6", "m9", 3)]

    # t7: fewer hits than any cutoff, relevant one last; only level-1 relevance.
    run += [("t7", "u1", 0.3), ("t7", "u2", 0.2), ("t7", "u3", 0.1)]
    qrels += [("t7", "u3", 1), ("t7", "u1", 0)]

    # t8..t19: random runs with 3-decimal scores (many ties) and random graded judgments.
    for q in range(8, 20):
        qid = f"t{q}"
        n = rng.randrange(20, 260)
        docs = rng.sample(range(2000), n)
        for d in docs:
            run.append((qid, f"d{d}", round(rng.gauss(0, 1), rng.choice([1, 2, 3]))))
        judged = rng.sample(range(2000), rng.randrange(5, 80))
        for d in judged:
            qrels.append((qid, f"d{d}", rng.choice([0, 0, 0, 1, 1, 2, 3])))

    rng.shuffle(run)  # file order is not rank order: trec_eval ranks by score, the ST heap sees file order
    dir.mkdir(parents=True, exist_ok=True)
    qrels_path = dir / "synthetic.qrels.txt"
    run_path = dir / "synthetic.run.txt"
    qrels_path.write_text("".join(f"{q} 0 {d} {r}\n" for q, d, r in qrels), encoding="utf-8")
    run_path.write_text("".join(f"{q} Q0 {d} 0 {s!r} synthetic\n" for q, d, s in run), encoding="utf-8")
    return qrels_path, run_path


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ["pytrec_eval-terrier", "sentence-transformers", "torch", "numpy"]:
        out[name] = md.version(name)
    return out


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    written = []
    for retriever in RETRIEVERS:
        for year in ("dl19", "dl20"):
            qrels = SHARED / "msmarco-passage-topics-qrels" / f"qrels.{year}-passage.txt"
            run = SHARED / "msmarco-passage-trec-dl-candidates" / retriever / f"trec_results_{year}.txt"
            data = case(f"{retriever} {year}", qrels, run, trec_levels=[2], st_levels=[2])
            path = OUT / f"{retriever}.{year}.json"
            path.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
            written.append(path)
            print(f"{path.relative_to(REPO)}: {len(data['trec'][0]['per_query'])} queries", file=sys.stderr)
    q, r = synthetic(OUT)
    data = case("synthetic", q, r, trec_levels=[1, 2], st_levels=[1, 2])
    path = OUT / "synthetic.json"
    path.write_text(json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")
    written.append(path)
    manifest = {
        "generator": "tools/reference/eval_parity.py",
        "versions": versions(),
        "files": [p.name for p in written],
        "note": "values rounded to 12 significant digits; tests allow 1e-6",
    }
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    assert all(math.isfinite(v) for p in written for b in json.loads(p.read_text())["trec"] for v in b["aggregate"])


if __name__ == "__main__":
    main()
