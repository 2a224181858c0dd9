"""Reference for semsearch's full-retrieval runs (src/eval/retrieve.ts) where scores tie.

    ~/venvs/ref/bin/python tools/reference/retrieve_parity.py

Writes src/eval/fixtures/retrieve/ties.json: seeded query and corpus "embeddings" whose cosine scores are exact
(components in {0, ±0.5, ±1}, unit norm, so every score is a multiple of 0.25 in float32 and float64 alike and
ties are everywhere), and, for several evaluator settings (its k lists and corpus_chunk_size), what
sentence-transformers' InformationRetrievalEvaluator itself returns: each query's ranked hits (its heap, sorted
by score as its compute_metrics does) and its metric values; plus util.semantic_search's top hits for the
TREC run's depth. src/eval/retrieve.test.ts checks that retrieve's evaluatorRun lists, replayed through
semsearch's stRanking and scored by evaluateRun, give exactly these, and that its run is util.semantic_search's.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import torch
from sentence_transformers import util
from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "src" / "eval" / "fixtures" / "retrieve" / "ties.json"

# Unit vectors with exactly representable components: every dot product is exact.
BASIS = [
    [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1],
    [0.5, 0.5, 0.5, 0.5], [0.5, -0.5, 0.5, -0.5], [0.5, 0.5, -0.5, -0.5], [-0.5, 0.5, 0.5, 0.5],
    [-1, 0, 0, 0], [0.5, 0.5, 0.5, -0.5],
]


class GivenEmbeddings(InformationRetrievalEvaluator):
    """The evaluator with the query embeddings handed in (no model)."""

    q: torch.Tensor

    def embed_inputs(self, model, sentences, encode_fn_name=None, **kwargs):  # noqa: ARG002
        return self.q


def main() -> None:
    rng = random.Random(20250611)
    # Ids whose string order differs from numeric order and from corpus order: the heap compares strings.
    doc_ids = [f"{rng.randrange(1000)}-{i}" if i % 3 else f"d{rng.randrange(100)}{i}" for i in range(60)]
    doc_vecs = [rng.choice(BASIS) for _ in doc_ids]
    query_ids = [f"q{i}" for i in range(8)]
    query_vecs = [rng.choice(BASIS) for _ in query_ids]
    relevant = {q: set(rng.sample(doc_ids, rng.randrange(1, 12))) for q in query_ids}
    relevant["q7"] = set()  # the evaluator leaves such a query out
    c = torch.tensor(doc_vecs, dtype=torch.float32)
    q_all = torch.tensor(query_vecs, dtype=torch.float32)

    settings = [
        {"name": "defaults", "chunk": 50000, "k": {}},
        {"name": "small-k", "chunk": 50000, "k": {"mrr_at_k": [3], "ndcg_at_k": [5], "accuracy_at_k": [1, 5],
                                                   "precision_recall_at_k": [2, 5], "map_at_k": [7]}},
        {"name": "small-k-chunked", "chunk": 7, "k": {"mrr_at_k": [3], "ndcg_at_k": [5], "accuracy_at_k": [1, 5],
                                                       "precision_recall_at_k": [2, 5], "map_at_k": [7]}},
        {"name": "chunked", "chunk": 13, "k": {}},
    ]
    cases = []
    for s in settings:
        ev = GivenEmbeddings(
            queries={q: q for q in query_ids},
            corpus={d: d for d in doc_ids},
            relevant_docs=relevant,
            corpus_chunk_size=s["chunk"],
            score_functions={"cosine": util.cos_sim},
            write_csv=False,
            **s["k"],
        )
        ev.q = q_all[[query_ids.index(q) for q in ev.queries_ids]]
        captured: list = []
        original = ev.compute_metrics

        def capture(lists, _orig=original):
            captured.append(lists)
            return _orig(lists)

        ev.compute_metrics = capture
        scores = ev.compute_all_metrics(model=None, corpus_embeddings=c)["cosine"]
        rankings = {
            qid: [h["corpus_id"] for h in sorted(captured[0][i], key=lambda x: x["score"], reverse=True)]
            for i, qid in enumerate(ev.queries_ids)
        }
        metrics = {f"{name.replace('@k', '')}@{k}": float(v) for name, vals in scores.items() for k, v in vals.items()}
        cases.append({"name": s["name"], "corpus_chunk_size": s["chunk"], "k": s["k"], "rankings": rankings, "metrics": metrics})

    hits = util.semantic_search(q_all, c, top_k=20)
    out = {
        "generator": "tools/reference/retrieve_parity.py",
        "sentence_transformers": __import__("sentence_transformers").__version__,
        "doc_ids": doc_ids,
        "doc_vectors": doc_vecs,
        "query_ids": query_ids,
        "query_vectors": query_vecs,
        "relevant": {q: sorted(v) for q, v in relevant.items()},
        "cases": cases,
        "semantic_search_top20": {q: [[doc_ids[h["corpus_id"]], h["score"]] for h in hits[i]] for i, q in enumerate(query_ids)},
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
