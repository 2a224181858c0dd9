"""The real-weight evaluation runs of `semsearch eval`, done by Python sentence-transformers (the reference).

    ~/venvs/ref/bin/python tools/reference/eval_real.py --dataset dl19-bm25-rerank [--dataset ...] [--out DIR]

Datasets (the same names and files as `semsearch eval --dataset`, read from ../shared/data):
  dl19-bm25-rerank, dl20-bm25-rerank   re-rank rank_llm's BM25 top-100 candidate lists (TREC DL 2019 / 2020)
  dl19-pool                            DL19 full retrieval over every passage with text in ../shared/data
  cranfield, cacm                      full retrieval over the classic collections

Every input file is parsed here independently of semsearch; the sha256 of the texts encoded (corpus and
queries, in order) is written so scripts/eval-real.ts can prove both sides saw the same data.

- Re-ranking: encode_query / encode_document (one call for all distinct passages, batch 32), model.similarity,
  each list sorted by the new score (stable). trec_eval measures by pytrec_eval; sentence-transformers measures
  by InformationRetrievalEvaluator itself, fed each re-ranked list in its new order (as eval_parity.py does).
- Full retrieval: corpus embeddings with encode_document (one call, as the evaluator encodes one 50,000-text
  chunk), InformationRetrievalEvaluator.compute_all_metrics on them (its own topk, heap and formulas; per-query
  values by calling its compute_metrics query by query on its own result lists, checked to average to its
  summary), and util.semantic_search(top_k=depth, score_function=model.similarity) for the TREC run that
  pytrec_eval scores.

Writes OUT/<dataset>/: run.trec (the ranking, scores as repr of the float32 values), metrics.json (summary and
per-query values, timings, load average, digests, versions) and, for retrieval, the evaluator's top-100 order.
Default OUT: ~/.cache/semsearch/eval-real/python (never the repository). Runs on CPU with the PyTorch
backend, the reference semsearch's ONNX numbers are held to.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata as md
import json
import os
import platform
import re
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytrec_eval  # noqa: E402
import torch  # noqa: E402
from sentence_transformers import SentenceTransformer, util  # noqa: E402
from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
DEFAULT_MODEL = Path.home() / ".cache/semsearch/real/all-MiniLM-L6-v2"
DEFAULT_OUT = Path.home() / ".cache/semsearch/eval-real/python"

CAND = SHARED / "msmarco-passage-trec-dl-candidates"
TOPICS = SHARED / "msmarco-passage-topics-qrels"
# semsearch's RETRIEVERS folders, in sorted order (src/eval/tasks.ts dl19PoolFiles).
RETRIEVER_DIRS = sorted(["BM25", "BM25_RM3", "D_BERT_KD_TASB", "OPEN_AI_ADA2", "REP_LLAMA", "SPLADE_P_P_ENSEMBLE_DISTIL"])

# semsearch's DEFAULT_TREC_MEASURES, as pytrec_eval specs and result names.
TREC_SPECS = {"ndcg_cut.10,100", "recip_rank", "map", "map_cut.10,100,1000", "recall.100,1000", "P.10"}
TREC_NAMES = ["ndcg_cut_10", "ndcg_cut_100", "recip_rank", "map", "map_cut_10", "map_cut_100", "map_cut_1000",
              "recall_100", "recall_1000", "P_10"]
# The evaluator's defaults and the names semsearch reports them under.
ST_NAMES = ([f"accuracy@{k}" for k in (1, 3, 5, 10)] + [f"precision@{k}" for k in (1, 3, 5, 10)]
            + [f"recall@{k}" for k in (1, 3, 5, 10)] + ["mrr@10", "ndcg@10", "map@100"])


# ------------------------------------------------------------------ readers (independent of semsearch)

def lines(path: Path) -> list[str]:
    """Split on \\n only and drop one trailing \\r per line, as semsearch's line reader does."""
    text = path.read_text(encoding="utf-8")
    if text.startswith("\ufeff"):
        text = text[1:]
    out = text.split("\n")
    if out and out[-1] == "":
        out.pop()
    return [x[:-1] if x.endswith("\r") else x for x in out]


def read_tsv(path: Path) -> dict[str, str]:
    """id<TAB>text; the text after the first tab is kept as written; a repeated id keeps its first text."""
    out: dict[str, str] = {}
    for line in lines(path):
        if not line.strip():
            continue
        tab = line.index("\t")
        out.setdefault(line[:tab].strip(), line[tab + 1:])
    return out


def read_trec_qrels(path: Path) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for line in lines(path):
        f = line.split()
        if len(f) < 4:
            continue
        out.setdefault(f[0], {})[f[2]] = int(f[3])
    return out


def read_candidates(path: Path) -> list[tuple[str, str, list[tuple[str, float, str]]]]:
    """[(qid, query, [(docid, score, content)])] in file order."""
    out = []
    for item in json.loads(path.read_text(encoding="utf-8")):
        hits = item["hits"]
        if not hits:
            continue
        out.append((str(hits[0]["qid"]), item["query"], [(str(h["docid"]), float(h["score"]), h["content"]) for h in hits]))
    return out


MARKER = re.compile(r"^\.([A-Z])(?:\s+(.*))?$")


def smart_records(path: Path) -> list[tuple[str, dict[str, str]]]:
    """SMART records: (raw .I id, {field letter: lines joined by \\n, stripped})."""
    records: list[tuple[str, dict[str, list[str]]]] = []
    field: list[str] | None = None
    for line in lines(path):
        m = MARKER.match(line.rstrip())
        if m:
            letter, rest = m.group(1), (m.group(2) or "").strip()
            if letter == "I":
                records.append((rest, {}))
                field = None
                continue
            field = records[-1][1].setdefault(letter, [])
            if rest:
                field.append(rest)
            continue
        if field is None:
            assert not line.strip(), f"{path}: text outside a field: {line!r}"
            continue
        field.append(line)
    return [(rid, {k: "\n".join(v).strip() for k, v in parts.items()}) for rid, parts in records]


def norm_id(raw: str) -> str:
    return str(int(raw)) if raw.isdigit() else raw


def smart_doc_text(fields: dict[str, str]) -> str:
    t, w = fields.get("T", "").strip(), fields.get("W", "").strip()
    if not t:
        return w
    if w.startswith(t):
        return w
    return t if not w else f"{t}\n{w}"


def smart_queries(path: Path, by_position: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    for pos, (rid, fields) in enumerate(smart_records(path), start=1):
        text = fields.get("W", "")
        if not text:
            continue  # CACM's stray ".I 0"
        out[str(pos) if by_position else norm_id(rid)] = text
    return out


def cranfield_qrels(path: Path) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for line in lines(path):
        f = line.split()
        if not f:
            continue
        code = int(f[2])
        out.setdefault(norm_id(f[0]), {})[norm_id(f[1])] = 5 - code if 1 <= code <= 4 else 0
    return out


def cacm_qrels(path: Path) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for line in lines(path):
        f = line.split()
        if f:
            out.setdefault(norm_id(f[0]), {})[norm_id(f[1])] = 1
    return out


# ------------------------------------------------------------------ datasets (as src/eval/tasks.ts datasetSpec)

def dataset(name: str) -> dict:
    m = re.fullmatch(r"dl(19|20)-bm25-rerank", name)
    if m:
        year = m.group(1)
        lists = read_candidates(CAND / "BM25" / f"retrieve_results_dl{year}.json")
        passages: dict[str, str] = {}
        for _, _, hits in lists:
            for d, _, c in hits:
                passages.setdefault(d, c)
        topics = read_tsv(TOPICS / ("topics.dl19-passage.txt" if year == "19" else "topics.dl20.txt"))
        return {
            "mode": "rerank", "level": 2, "queries": topics,
            "qrels": read_trec_qrels(TOPICS / f"qrels.dl{year}-passage.txt"),
            "candidates": [(q, [d for d, _, _ in hits]) for q, _, hits in lists], "passages": passages,
        }
    if name == "dl19-pool":
        corpus = dict(read_tsv(SHARED / "msmarco-passage-dl19-relevant-subset" / "collection.tsv"))
        for r in RETRIEVER_DIRS:
            for year in ("dl19", "dl20"):
                for _, _, hits in read_candidates(CAND / r / f"retrieve_results_{year}.json"):
                    for d, _, c in hits:
                        corpus.setdefault(d, c)
        return {"mode": "retrieve", "level": 2, "queries": read_tsv(TOPICS / "topics.dl19-passage.txt"),
                "qrels": read_trec_qrels(TOPICS / "qrels.dl19-passage.txt"), "corpus": corpus}
    if name == "cranfield":
        docs = {norm_id(rid): smart_doc_text(f) for rid, f in smart_records(SHARED / "cranfield" / "cran.all.1400")}
        return {"mode": "retrieve", "level": 1, "queries": smart_queries(SHARED / "cranfield" / "cran.qry", True),
                "qrels": cranfield_qrels(SHARED / "cranfield" / "cranqrel"), "corpus": docs}
    if name == "cacm":
        docs = {norm_id(rid): smart_doc_text(f) for rid, f in smart_records(SHARED / "cacm" / "cacm.all")}
        return {"mode": "retrieve", "level": 1, "queries": smart_queries(SHARED / "cacm" / "query.text", False),
                "qrels": cacm_qrels(SHARED / "cacm" / "qrels.text"), "corpus": docs}
    raise SystemExit(f"unknown dataset {name}")


def digest(pairs) -> str:
    h = hashlib.sha256()
    for k, v in pairs:
        h.update(f"{k}\t{v}\n".encode("utf-8"))
    return h.hexdigest()


# ------------------------------------------------------------------ metrics

def trec_metrics(qrels: dict, run: dict[str, list[tuple[str, float]]], level: int) -> dict:
    ev = pytrec_eval.RelevanceEvaluator(qrels, TREC_SPECS, relevance_level=level)
    per_query = ev.evaluate({q: dict(hits) for q, hits in run.items()})
    per = {q: {m: v[m] for m in TREC_NAMES} for q, v in per_query.items()}
    summary = {m: pytrec_eval.compute_aggregated_measure(m, [v[m] for v in per_query.values()]) for m in TREC_NAMES}
    return {"measures": TREC_NAMES, "summary": summary, "per_query": per}


def st_flat(result: dict) -> dict[str, float]:
    out = {}
    for name in ST_NAMES:
        metric, k = name.split("@")
        out[name] = float(result[f"{metric}@k"][int(k)])
    return out


class PassScores(InformationRetrievalEvaluator):
    """The evaluator without a model: the "corpus embeddings" are the run's scores (eval_parity.py's trick)."""

    def embed_inputs(self, model, sentences, **kwargs):  # noqa: ARG002
        return torch.zeros((len(sentences), 1), dtype=torch.float64)


def pass_scores(q: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    return scores.T.expand(q.shape[0], -1)


def st_metrics_of_run(queries: dict, qrels: dict, run: dict[str, list[tuple[str, float]]], level: int) -> dict:
    """The evaluator's values for a run, each query's hits pushed onto its heap in list order."""
    per = {}
    for qid in queries:
        relevant = {d for d, r in qrels.get(qid, {}).items() if r >= level}
        if not relevant:
            continue
        hits = run.get(qid, [])
        if not hits:
            per[qid] = {m: 0.0 for m in ST_NAMES}
            continue
        ev = PassScores(queries={qid: "q"}, corpus={d: "" for d, _ in hits}, relevant_docs={qid: relevant},
                        corpus_chunk_size=1, score_functions={"run": pass_scores}, write_csv=False)
        scores = torch.tensor([s for _, s in hits], dtype=torch.float64).reshape(-1, 1)
        per[qid] = st_flat(ev.compute_all_metrics(model=None, corpus_embeddings=scores)["run"])
    summary = {m: sum(v[m] for v in per.values()) / len(per) for m in ST_NAMES}
    return {"measures": ST_NAMES, "summary": summary, "per_query": per}


class CapturingEvaluator(InformationRetrievalEvaluator):
    """The evaluator with the query embeddings handed in (the same tensor the TREC run uses) and its result
    lists kept, so each query's values can be read off its own compute_metrics."""

    query_embeddings: torch.Tensor
    result_lists: list

    def embed_inputs(self, model, sentences, encode_fn_name=None, **kwargs):
        if encode_fn_name == "query":
            return self.query_embeddings
        return super().embed_inputs(model, sentences, encode_fn_name=encode_fn_name, **kwargs)

    def compute_metrics(self, queries_result_list):
        self.result_lists = queries_result_list
        return super().compute_metrics(queries_result_list)


# ------------------------------------------------------------------ runs

def run_dataset(name: str, model_dir: Path, out_root: Path, batch_size: int, depth: int) -> None:
    load_start = os.getloadavg()
    t_start = time.perf_counter()
    data = dataset(name)
    model = SentenceTransformer(str(model_dir), device="cpu")
    t_loaded = time.perf_counter()
    level = data["level"]
    queries: dict[str, str] = data["queries"]
    qrels = {q: j for q, j in data["qrels"].items() if q in queries}
    meta: dict = {"dataset": name, "mode": data["mode"], "relevance_level": level}
    timings: dict[str, float] = {}
    st_top = None

    if data["mode"] == "rerank":
        cands = data["candidates"]
        passages = data["passages"]
        qids = [q for q, _ in cands]
        doc_ids: list[str] = []
        index: dict[str, int] = {}
        for _, docs in cands:
            for d in docs:
                if d not in index:
                    index[d] = len(doc_ids)
                    doc_ids.append(d)
        q_texts = [queries[q] for q in qids]
        d_texts = [passages[d] for d in doc_ids]
        t0 = time.perf_counter()
        q_emb = model.encode_query(q_texts, batch_size=batch_size, convert_to_tensor=True)
        t1 = time.perf_counter()
        d_emb = model.encode_document(d_texts, batch_size=batch_size, convert_to_tensor=True)
        t2 = time.perf_counter()
        timings.update(encode_queries=t1 - t0, encode_documents=t2 - t1)
        run: dict[str, list[tuple[str, float]]] = {}
        for i, (qid, docs) in enumerate(cands):
            rows = d_emb[[index[d] for d in docs]]
            s = model.similarity(q_emb[i:i + 1], rows)[0].tolist()
            order = sorted(range(len(docs)), key=lambda j: -s[j])  # stable: ties keep the candidate order
            run[qid] = [(docs[j], s[j]) for j in order]
        st = st_metrics_of_run(queries, qrels, run, level)
        meta.update(n_queries=len(qids), n_documents=len(doc_ids),
                    queries_digest=digest((q, queries[q]) for q in qids),
                    corpus_digest=digest((d, passages[d]) for d in doc_ids))
    else:
        corpus: dict[str, str] = data["corpus"]
        qids = list(queries)
        t0 = time.perf_counter()
        q_emb = model.encode_query([queries[q] for q in qids], batch_size=batch_size, convert_to_tensor=True)
        t1 = time.perf_counter()
        c_emb = model.encode_document(list(corpus.values()), batch_size=batch_size, convert_to_tensor=True)
        t2 = time.perf_counter()
        timings.update(encode_queries=t1 - t0, encode_documents=t2 - t1)
        relevant = {q: {d for d, r in j.items() if r >= level} for q, j in qrels.items()}
        ev = CapturingEvaluator(queries=queries, corpus=corpus, relevant_docs=relevant, batch_size=batch_size,
                                score_functions={model.similarity_fn_name: model.similarity}, write_csv=False)
        ev.query_embeddings = q_emb[[qids.index(q) for q in ev.queries_ids]]
        summary_raw = ev.compute_all_metrics(model, corpus_embeddings=c_emb)[model.similarity_fn_name]
        lists = ev.result_lists
        all_ids, all_texts = ev.queries_ids, ev.queries
        per = {}
        st_top = {}
        for i, qid in enumerate(all_ids):
            ev.queries_ids, ev.queries = [qid], [all_texts[i]]
            per[qid] = st_flat(InformationRetrievalEvaluator.compute_metrics(ev, [lists[i]]))
            st_top[qid] = [h["corpus_id"] for h in sorted(lists[i], key=lambda x: x["score"], reverse=True)]
        ev.queries_ids, ev.queries = all_ids, all_texts
        summary = st_flat(summary_raw)
        for m in ST_NAMES:
            mean = sum(v[m] for v in per.values()) / len(per)
            assert abs(mean - summary[m]) < 1e-12, (m, mean, summary[m])
        st = {"measures": ST_NAMES, "summary": summary, "per_query": per}
        ids = list(corpus)
        hits = util.semantic_search(q_emb, c_emb, top_k=depth, score_function=model.similarity)
        run = {qid: [(ids[h["corpus_id"]], h["score"]) for h in hits[i]] for i, qid in enumerate(qids)}
        meta.update(n_queries=len(qids), n_documents=len(corpus), depth=depth,
                    queries_digest=digest((q, queries[q]) for q in qids),
                    corpus_digest=digest(corpus.items()))
    trec = trec_metrics(qrels, run, level)
    t_end = time.perf_counter()
    timings.update(load_data_and_model=t_loaded - t_start, total=t_end - t_start,
                   other=(t_end - t_loaded) - timings["encode_queries"] - timings["encode_documents"])

    out = out_root / name
    out.mkdir(parents=True, exist_ok=True)
    with (out / "run.trec").open("w", encoding="utf-8") as f:
        for qid, hs in run.items():
            for rank, (d, s) in enumerate(hs, start=1):
                f.write(f"{qid} Q0 {d} {rank} {s!r} python-st\n")
    if st_top is not None:
        (out / "st-top.json").write_text(json.dumps(st_top) + "\n", encoding="utf-8")
    meta.update(
        st=st, trec=trec, timings=timings, loadavg_start=load_start, loadavg_end=os.getloadavg(),
        torch_threads=torch.get_num_threads(), model=str(model_dir), batch_size=batch_size,
        versions={"python": platform.python_version(),
                  **{p: md.version(p) for p in ("sentence-transformers", "torch", "transformers", "pytrec_eval-terrier")}},
        generator="tools/reference/eval_real.py",
    )
    (out / "metrics.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    print(f"{name}: MRR@10 {st['summary']['mrr@10']:.4f}  NDCG@10 (trec) {trec['summary']['ndcg_cut_10']:.4f}  "
          f"total {timings['total']:.1f} s (encode {timings['encode_documents']:.1f} s)  load {load_start[0]:.2f}",
          file=sys.stderr)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", action="append", required=True)
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--depth", type=int, default=1000)
    a = p.parse_args()
    for name in a.dataset:
        run_dataset(name, a.model, a.out, a.batch_size, a.depth)


if __name__ == "__main__":
    main()
