"""Regenerate src/mine/fixtures/mine.json: what sentence-transformers' mine_hard_negatives returns (run by hand;
Python is a reference only).

    ~/venvs/ref/bin/pip install -r tools/reference/requirements-mine.txt
    ~/venvs/ref/bin/python tools/reference/make_mine_fixtures.py

The models are the committed random fixtures, loaded by sentence-transformers on their ONNX exports: the bi-encoder
src/model/fixtures/models/bert (mean pooling, normalised, cosine) and the cross-encoder
src/model/fixtures/cross-encoders/bert-1 (one label, Sigmoid). The texts are the fixture texts of texts.py (written
for the fixtures, nothing from the shared data): 26 (anchor, positive) pairs, two anchors with two positives and one
positive shared by two anchors, and a separate corpus of 40 sentences. Each case runs mine_hard_negatives with
sampling_strategy "top" and records the rows of the dataset it returns, in order.

The "cranfield" cases mine real text: the judged pairs of 20 Cranfield queries and 250 more documents, as
semsearch's own readers give them from ../shared/data (tools/reference/export_cranfield_pairs.ts). The texts are
not copied into the fixture: its rows name queries and documents by id, and the test reads the texts at run time.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REPO_ROOT, versions, write_json  # noqa: E402
from texts import PASSAGES, _SENTENCES, fixture_texts  # noqa: E402

from datasets import Dataset  # noqa: E402
from sentence_transformers import CrossEncoder, SentenceTransformer  # noqa: E402
from sentence_transformers.util import mine_hard_negatives  # noqa: E402

FIXTURES = REPO_ROOT / "src" / "model" / "fixtures"
OUT = REPO_ROOT / "src" / "mine" / "fixtures" / "mine.json"

CRANFIELD_CASES = {
    "cranfield-triplet": {},
    "cranfield-n-tuple-cross-margin-scores": {"output_format": "n-tuple", "cross": True, "absolute_margin": 0.002, "output_scores": True, "num_negatives": 3},
    "cranfield-labeled-list-range": {"output_format": "labeled-list", "range_min": 3, "range_max": 40, "num_negatives": 6, "max_score": 0.9},
}

CASES = {
    "triplet-default": {},
    "n-tuple-scores-range": {"output_format": "n-tuple", "output_scores": True, "range_min": 2, "range_max": 12, "num_negatives": 4},
    "labeled-pair-absolute-margin-cross": {"output_format": "labeled-pair", "absolute_margin": 0.0, "cross": True},
    "labeled-pair-scores": {"output_format": "labeled-pair", "output_scores": True, "num_negatives": 2},
    "labeled-list-scores-relative": {"output_format": "labeled-list", "output_scores": True, "relative_margin": 0.05, "max_score": 0.95, "min_score": -0.5},
    "labeled-list-labels": {"output_format": "labeled-list", "num_negatives": 5, "range_max": 20},
    "triplet-cross-max-score-scores": {"output_format": "triplet", "cross": True, "max_score": 0.45, "output_scores": True, "num_negatives": 2},
    "n-tuple-corpus-min-score": {"output_format": "n-tuple", "corpus": True, "min_score": 0.2, "num_negatives": 3},
    "include-positives": {"include_positives": True, "num_negatives": 4},
    "n-tuple-cross-relative-scores": {"output_format": "n-tuple", "cross": True, "relative_margin": 0.01, "output_scores": True, "num_negatives": 2},
}


def data() -> tuple[list[str], list[str], list[str]]:
    texts = [t["text"] for t in fixture_texts() if t["text"].strip()]
    anchors = texts[:24]
    positives = list(_SENTENCES[:24])
    # Two anchors with a second positive, and one positive shared by two anchors.
    anchors += [anchors[0], anchors[5]]
    positives += [PASSAGES[0], PASSAGES[1]]
    positives[7] = positives[3]
    corpus = list(_SENTENCES[24:]) + list(PASSAGES[2:]) + texts[24:]
    return anchors, positives, corpus


def cranfield(bi: SentenceTransformer, ce: CrossEncoder, tmp: Path) -> dict:
    pairs_file = tmp / "cranfield-pairs.json"
    subprocess.run(["node", "--conditions=source", "--import", "tsx", "tools/reference/export_cranfield_pairs.ts", str(pairs_file)], cwd=REPO_ROOT, check=True)
    d = json.loads(pairs_file.read_text())
    q, docs = d["texts"]["queries"], d["texts"]["docs"]
    anchors = [q[i] for i in d["anchorIds"]]
    positives = [docs[i] for i in d["positiveIds"]]
    corpus = [docs[i] for i in d["corpusIds"]]
    # Rows are stored by id: the first id of each text (Cranfield repeats a few documents word for word).
    qid_of: dict[str, str] = {}
    for k, t in q.items():
        qid_of.setdefault(t, k)
    docid_of: dict[str, str] = {}
    for k, t in docs.items():
        docid_of.setdefault(t, k)

    def ids(v, column: str):
        if isinstance(v, list):
            return [ids(x, column) for x in v]
        if isinstance(v, str):
            return ("q:" + qid_of[v]) if column == "query" else ("d:" + docid_of[v])
        return v

    cases = {}
    for name, spec in CRANFIELD_CASES.items():
        kwargs = {k: v for k, v in spec.items() if k != "cross"}
        ds = Dataset.from_dict({"query": anchors, "answer": positives})
        mined = mine_hard_negatives(ds, bi, corpus=corpus, cross_encoder=ce if spec.get("cross") else None, sampling_strategy="top", batch_size=16, verbose=False, **kwargs)
        rows = [{k: (ids(v, k) if k not in ("scores", "score", "label", "labels") else v) for k, v in dict(r).items()} for r in mined]
        cases[name] = {"options": spec, "columns": mined.column_names, "rows": rows}
        print(f"{name}: {len(rows)} rows, columns {mined.column_names}", flush=True)
    return {"anchorIds": d["anchorIds"], "positiveIds": d["positiveIds"], "corpusIds": d["corpusIds"], "cases": cases}


def main() -> None:
    anchors, positives, corpus = data()
    bi = SentenceTransformer(str(FIXTURES / "models" / "bert"), backend="onnx", device="cpu")
    with tempfile.TemporaryDirectory() as tmp:
        ce_dir = Path(tmp) / "bert-1"
        shutil.copytree(FIXTURES / "cross-encoders" / "bert-1", ce_dir)
        for f in ["tokenizer.json", "vocab.txt"]:
            shutil.copyfile(FIXTURES / "models" / "bert" / f, ce_dir / f)
        ce = CrossEncoder(str(ce_dir), backend="onnx", device="cpu", model_kwargs={"file_name": "onnx/model.onnx"})
        out = {"versions": versions(["datasets"]), "columns": ["query", "answer"], "anchors": anchors, "positives": positives, "corpus": corpus, "cases": {}}
        for name, spec in CASES.items():
            kwargs = {k: v for k, v in spec.items() if k not in ("cross", "corpus")}
            ds = Dataset.from_dict({"query": anchors, "answer": positives})
            mined = mine_hard_negatives(
                ds,
                bi,
                corpus=corpus if spec.get("corpus") else None,
                cross_encoder=ce if spec.get("cross") else None,
                sampling_strategy="top",
                batch_size=8,
                verbose=False,
                **kwargs,
            )
            rows = [dict(r) for r in mined]
            out["cases"][name] = {"options": spec, "columns": mined.column_names, "rows": rows}
            print(f"{name}: {len(rows)} rows, columns {mined.column_names}", flush=True)
        out["cranfield"] = cranfield(bi, ce, Path(tmp))
    write_json(OUT, out)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
