"""Random-but-valid transformer configs for the differential test of semsearch's ONNX graph builder
(src/model/graph/oracle.test.ts, scripts/graph-oracle.ts). Run by hand; Python is a reference only.

    ~/venvs/ref/bin/python tools/reference/make_graph_configs.py                 # the committed set
    ~/venvs/ref/bin/python tools/reference/make_graph_configs.py --out DIR --seed S --per-family N

For each family (BERT, DistilBERT, MPNet, ELECTRA, RoBERTa, XLM-RoBERTa: bi-encoders and *ForSequenceClassification
cross-encoders; the families added later are drawn after the first ones, so those keep their configs) it draws N configs from a seeded generator: heads, head
size, layers, intermediate size, hidden activation, layer_norm_eps, pad_token_id (anywhere in the vocabulary,
often 0 or 1), vocabulary size (at least the tokenizer's), position table size, type_vocab_size, MPNet's
relative_attention_num_buckets, DistilBERT's sinusoidal positions, ELECTRA's embedding_size; RoBERTa's and
XLM-R's positions counted from pad_token_id (the table as large as that needs); pooling modes (one or
several, concatenated), Normalize or not, max_seq_length; number of labels. Each model is random-initialised by
transformers (seeded), with random biases and LayerNorm weights (common.perturb_init), saved by sentence-transformers
(SentenceTransformer.save / CrossEncoder.save), and its outputs computed by sentence-transformers on torch: encode()
of the fixture texts at batch size 32 (and 3), or predict() of pairs with raw logits (Identity activation).

Some configs are ones the builder refuses by design (an activation it does not build, ELECTRA position_embedding_type
relative_key): they are marked `expect: "UNSUPPORTED_MODEL"` and the test requires that error, nothing else.

Tokenizers: the fixture tokenizers (src/model/fixtures/models/{bert,distilbert,mpnet}) cut down to the tokens the
fixture texts and pairs use (plus the special tokens), renumbered in their original order, so a tiny embedding table
holds the whole vocabulary (RoBERTa and XLM-R take MPNet's: WordPiece, but <s> $A </s> with <pad> 1 as theirs, so
their encoders are tested while their own BPE and Unigram tokenizers are tested elsewhere). The script checks that the cut tokenizer gives the fixture tokenizer's tokens for every
text and pair. Written once per vocabulary under OUT/tokenizers/<uncased|mpnet>/ (tokenizer.json, vocab.txt) and
copied into each model folder by the tests; each model folder keeps its own tokenizer_config.json.

OUT/manifest.json: generator, versions, seed, pairs, and per config: name, family, kind (bi|cross), tokenizer,
expect ("match" or an error code), the drawn settings, and the reference outputs
(bi: embeddings {"32": M, "3": M}; cross: logits M), M = {"rows", "dim", "f32": base64 little-endian float32}, and
the same outputs of the model cast to float64 (embeddings_f64 at batch size 32, logits_f64; stored as float32): a
built graph further than 1e-5 from torch passes only if it is no further from the float64 result than torch's
float32 result is (a draw with large weights can be ill-conditioned enough that float32 rounding alone exceeds 1e-5).
Deterministic: the same seed and N give the same configs and weights (torch outputs move by ulps between CPUs).
Same venv and pins as make_fixtures.py (requirements.txt).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REPO_ROOT, b64_f32, perturb_init, versions, write_json  # noqa: E402
from texts import PASSAGES, fixture_texts  # noqa: E402

import torch  # noqa: E402
from transformers import (  # noqa: E402
    AutoTokenizer,
    BertConfig,
    BertForSequenceClassification,
    BertModel,
    DistilBertConfig,
    DistilBertForSequenceClassification,
    DistilBertModel,
    ElectraConfig,
    ElectraForSequenceClassification,
    ElectraModel,
    MPNetConfig,
    MPNetForSequenceClassification,
    MPNetModel,
    RobertaConfig,
    RobertaForSequenceClassification,
    RobertaModel,
    XLMRobertaConfig,
    XLMRobertaForSequenceClassification,
    XLMRobertaModel,
)
from transformers.utils import logging as hf_logging  # noqa: E402
from sentence_transformers import CrossEncoder, SentenceTransformer  # noqa: E402
from sentence_transformers.models import Normalize, Pooling, Transformer  # noqa: E402

hf_logging.set_verbosity_error()
torch.set_num_threads(1)

FIXTURES = REPO_ROOT / "src" / "model" / "fixtures"
DEFAULT_OUT = FIXTURES / "graph-oracle"
DEFAULT_SEED = 28
DEFAULT_PER_FAMILY = 3
# The activations the builder builds (src/model/graph/encoder-graph.ts) and one it refuses.
BUILT_ACTS = ["gelu", "gelu_new", "gelu_pytorch_tanh", "relu"]
REFUSED_ACTS = ["silu", "quick_gelu", "gelu_fast"]
POOLING_MODES = ["cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken"]
# family -> the fixture folder (src/model/fixtures/models/) whose tokenizer it cuts down.
TOKENIZERS = {"bert": "bert", "electra": "bert", "distilbert": "distilbert", "mpnet": "mpnet", "roberta": "mpnet", "xlm-roberta": "mpnet"}
SHARED_TOKENIZER_FILES = ["tokenizer.json", "vocab.txt"]
FLAG = {"cls": "cls_token", "max": "max_tokens", "mean": "mean_tokens", "mean_sqrt_len_tokens": "mean_sqrt_len_tokens", "weightedmean": "weightedmean_tokens", "lasttoken": "lasttoken"}


def texts() -> list[str]:
    out = [t["text"] for t in fixture_texts()]
    # The TypeScript side reads the texts from texts.json (make_fixtures.py wrote it from the same list).
    assert [t["text"] for t in json.loads((FIXTURES / "texts.json").read_text(encoding="utf-8"))["texts"]] == out
    return out


def pairs() -> list[list[str]]:
    ts = texts()
    out = [[ts[i], PASSAGES[i % len(PASSAGES)]] for i in range(0, len(ts), 2)]
    out += [[PASSAGES[4], ts[3]], ["", ""], [ts[5], ""]]
    return out


# ---------------------------------------------------------------- cut-down tokenizers

def cut_tokenizer(fixture: str, work: Path) -> Path:
    """The fixture tokenizer with only the tokens the texts and pairs use (and its added tokens), renumbered in their
    original order: its tokenizer.json edited (vocabulary, added tokens, post-processor and padding ids), everything
    else as the fixture has it."""
    src = FIXTURES / "models" / fixture
    full = AutoTokenizer.from_pretrained(str(src))

    def pieces(t, text: str) -> list[str]:
        return t.convert_ids_to_tokens(t(text, add_special_tokens=False)["input_ids"])

    every = texts() + [x for p in pairs() for x in p]
    j = json.loads((src / "tokenizer.json").read_text(encoding="utf-8"))
    used: set[str] = {a["content"] for a in j["added_tokens"]}
    for t in every:
        used.update(pieces(full, t))
    vocab = full.get_vocab()
    kept = sorted(used, key=lambda tok: vocab[tok])
    new = {tok: i for i, tok in enumerate(kept)}
    j["model"]["vocab"] = new
    for a in j["added_tokens"]:
        a["id"] = new[a["content"]]
    pp = j["post_processor"]
    if pp["type"] == "TemplateProcessing":
        for v in pp["special_tokens"].values():
            v["ids"] = [new[t] for t in v["tokens"]]
    else:
        pp["sep"][1] = new[pp["sep"][0]]
        pp["cls"][1] = new[pp["cls"][0]]
    if j.get("padding"):
        j["padding"]["pad_id"] = new[j["padding"]["pad_token"]]
    out = work / f"tok-{fixture}"
    out.mkdir(parents=True, exist_ok=True)
    (out / "tokenizer.json").write_text(json.dumps(j, ensure_ascii=False, indent=2), encoding="utf-8")
    (out / "vocab.txt").write_text("".join(t + "\n" for t in kept), encoding="utf-8")
    shutil.copyfile(src / "special_tokens_map.json", out / "special_tokens_map.json")
    tc = json.loads((src / "tokenizer_config.json").read_text(encoding="utf-8"))
    tc["added_tokens_decoder"] = {str(new[v["content"]]): v for v in tc["added_tokens_decoder"].values()}
    tc["model_max_length"] = 512
    (out / "tokenizer_config.json").write_text(json.dumps(tc, ensure_ascii=False, indent=2), encoding="utf-8")
    tok = AutoTokenizer.from_pretrained(str(out))
    assert type(tok) is type(full), (type(tok), type(full))
    for t in every:
        assert pieces(tok, t) == pieces(full, t), (fixture, t, pieces(tok, t), pieces(full, t))
    for a, b in pairs():
        assert tok.convert_ids_to_tokens(tok(a, b)["input_ids"]) == full.convert_ids_to_tokens(full(a, b)["input_ids"]), (fixture, a, b)
    return out


def tokenizer_for(family: str, work: Path, out: Path, cuts: dict[str, Path]):
    """The family's cut tokenizer; its tokenizer.json and vocab.txt as saved written to OUT/tokenizers/ once."""
    fixture = TOKENIZERS[family]
    if fixture not in cuts:
        cuts[fixture] = cut_tokenizer(fixture, work)
    tok = AutoTokenizer.from_pretrained(str(cuts[fixture]))
    shared = out / "tokenizers" / fixture
    if not shared.exists():
        tok.save_pretrained(str(work / f"save-{fixture}"))
        shared.mkdir(parents=True)
        for f in SHARED_TOKENIZER_FILES:
            shutil.copyfile(work / f"save-{fixture}" / f, shared / f)
    return tok, fixture


# ---------------------------------------------------------------- random configs

def draw(rng: random.Random, family: str, kind: str, vocab_len: int, index: int) -> dict:
    """One random-but-valid config; the index of the config in its family picks the corner cases in turn: MPNet's
    relative_attention_num_buckets other than 32 and ELECTRA's embedding_size other than hidden_size at 1, 4, 7, …; a
    config to refuse at 2, 8, 14, …."""
    heads = rng.choice([1, 2, 3, 4])
    head_dim = rng.choice([2, 3, 4])
    hidden = heads * head_dim
    max_seq = rng.randint(6, 40)
    s: dict = {
        "heads": heads,
        "hidden": hidden,
        "layers": rng.randint(1, 3),
        "intermediate": rng.randint(2, 24),
        "act": rng.choice(BUILT_ACTS),
        "eps": rng.choice([1e-12, 1e-7, 1e-5, 1e-3, 0.05]),
        "pad_token_id": rng.choice([0, 1, 2, 3, rng.randrange(vocab_len)]),
        "vocab_size": vocab_len + rng.choice([0, 0, rng.randint(1, 40)]),
        "max_seq_length": max_seq,
        "max_position_embeddings": max_seq + 2 + rng.choice([0, rng.randint(1, 30)]),
        "init_range": rng.choice([0.02, 0.2, 0.5]),
        "seed": rng.randrange(1 << 30),
        "expect": "match",
    }
    if family in ("bert", "electra"):
        s["type_vocab_size"] = rng.choice([2, 2, 3]) if kind == "cross" else rng.choice([1, 2])
    if family in ("roberta", "xlm-roberta"):
        # Only row 0 is ever read (no token_type_ids input); positions run up to pad_token_id + max_seq_length.
        s["type_vocab_size"] = rng.choice([1, 1, 2])
        s["max_position_embeddings"] = s["pad_token_id"] + max_seq + 1 + rng.choice([0, rng.randint(1, 30)])
    if family == "distilbert":
        s["sinusoidal_pos_embds"] = rng.random() < 0.3
    if family == "mpnet":
        s["relative_attention_num_buckets"] = 32 if index % 3 != 1 else rng.choice([40, 64])
    if family == "electra":
        s["embedding_size"] = hidden if index % 3 != 1 else rng.choice([d for d in (2, 4, 6, 8, 12) if d != hidden])
    # Every sixth config (from the third) is one the builder refuses: an activation it does not build, or for ELECTRA
    # every other time relative_key positions.
    if index % 6 == 2:
        if family == "electra" and index % 12 == 2:
            s["position_embedding_type"] = "relative_key"
        else:
            s["act"] = rng.choice(REFUSED_ACTS)
        s["expect"] = "UNSUPPORTED_MODEL"
    if kind == "bi":
        modes = [m for m in POOLING_MODES if rng.random() < 0.3] or [rng.choice(POOLING_MODES)]
        s["pooling"] = modes
        s["normalize"] = rng.random() < 0.5
    else:
        s["num_labels"] = rng.choice([1, 2, 3])
    return s


def hf_config(family: str, s: dict):
    common = dict(vocab_size=s["vocab_size"], max_position_embeddings=s["max_position_embeddings"], initializer_range=s["init_range"], pad_token_id=s["pad_token_id"])
    if "num_labels" in s:
        common["num_labels"] = s["num_labels"]
    if family == "distilbert":
        return DistilBertConfig(dim=s["hidden"], n_heads=s["heads"], n_layers=s["layers"], hidden_dim=s["intermediate"], activation=s["act"], sinusoidal_pos_embds=s["sinusoidal_pos_embds"], **common)
    base = dict(hidden_size=s["hidden"], num_attention_heads=s["heads"], num_hidden_layers=s["layers"], intermediate_size=s["intermediate"], hidden_act=s["act"], layer_norm_eps=s["eps"], **common)
    if family == "bert":
        return BertConfig(type_vocab_size=s["type_vocab_size"], **base)
    if family == "electra":
        extra = {"position_embedding_type": s["position_embedding_type"]} if "position_embedding_type" in s else {}
        return ElectraConfig(type_vocab_size=s["type_vocab_size"], embedding_size=s["embedding_size"], **base, **extra)
    if family == "mpnet":
        return MPNetConfig(relative_attention_num_buckets=s["relative_attention_num_buckets"], bos_token_id=0, eos_token_id=2, **base)
    if family == "roberta":
        return RobertaConfig(type_vocab_size=s["type_vocab_size"], bos_token_id=0, eos_token_id=2, **base)
    if family == "xlm-roberta":
        return XLMRobertaConfig(type_vocab_size=s["type_vocab_size"], bos_token_id=0, eos_token_id=2, **base)
    raise ValueError(family)


MODEL_CLASSES = {
    ("bert", "bi"): BertModel,
    ("distilbert", "bi"): DistilBertModel,
    ("mpnet", "bi"): MPNetModel,
    ("bert", "cross"): BertForSequenceClassification,
    ("distilbert", "cross"): DistilBertForSequenceClassification,
    ("mpnet", "cross"): MPNetForSequenceClassification,
    ("electra", "cross"): ElectraForSequenceClassification,
    ("electra", "bi"): ElectraModel,
    ("roberta", "bi"): RobertaModel,
    ("roberta", "cross"): RobertaForSequenceClassification,
    ("xlm-roberta", "bi"): XLMRobertaModel,
    ("xlm-roberta", "cross"): XLMRobertaForSequenceClassification,
}


def make(family: str, kind: str, s: dict, name: str, tok, work: Path, out: Path) -> dict:
    torch.manual_seed(s["seed"])
    model = MODEL_CLASSES[(family, kind)](hf_config(family, s)).eval()
    perturb_init(model, s["seed"] + 1)
    hf = work / f"hf-{name}"
    model.save_pretrained(str(hf))
    tok.save_pretrained(str(hf))
    dest = out / name
    ref: dict = {}
    if kind == "bi":
        transformer = Transformer(str(hf), max_seq_length=s["max_seq_length"])
        dim = transformer.get_embedding_dimension()
        # Every flag explicitly: Pooling's pooling_mode_mean_tokens defaults to True.
        flags = {f"pooling_mode_{FLAG[m]}": m in s["pooling"] for m in POOLING_MODES}
        modules = [transformer, Pooling(dim, **flags)]
        if s["normalize"]:
            modules.append(Normalize())
        st = SentenceTransformer(modules=modules, device="cpu")
        st.save(str(dest), create_model_card=False)
        norm_dir = dest / "2_Normalize"
        if norm_dir.exists() and not any(norm_dir.iterdir()):
            norm_dir.rmdir()
        loaded = SentenceTransformer(str(dest), device="cpu")
        for bs in (32, 3):
            ref[str(bs)] = b64_f32(loaded.encode(texts(), batch_size=bs, convert_to_numpy=True))
        # The same model in float64: how far torch's own float32 result is from exact, for ill-conditioned draws.
        result = {"embeddings": ref, "embeddings_f64": b64_f32(loaded.double().encode(texts(), batch_size=32, convert_to_numpy=True))}
    else:
        CrossEncoder(str(hf), max_length=s["max_seq_length"], device="cpu").save(str(dest))
        loaded = CrossEncoder(str(dest), device="cpu")
        logits = loaded.predict(pairs(), batch_size=32, activation_fn=torch.nn.Identity(), convert_to_numpy=True)
        loaded.model.double()
        logits64 = loaded.predict(pairs(), batch_size=32, activation_fn=torch.nn.Identity(), convert_to_numpy=True)
        result = {"logits": b64_f32(logits.reshape(len(pairs()), -1)), "logits_f64": b64_f32(logits64.reshape(len(pairs()), -1))}
    (dest / "README.md").unlink(missing_ok=True)
    for f in SHARED_TOKENIZER_FILES:
        # Shared by every folder of the vocabulary (written once under OUT/tokenizers/): must be the same bytes.
        assert (dest / f).read_bytes() == (out / "tokenizers" / s["tokenizer"] / f).read_bytes(), (name, f)
        (dest / f).unlink()
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--per-family", type=int, default=DEFAULT_PER_FAMILY, help="configs per family and kind")
    args = ap.parse_args()
    out: Path = args.out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    rng = random.Random(args.seed)
    entries = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cuts: dict[str, Path] = {}
        # The first seven, then the families added since (drawn after them, so the first keep their configs).
        groups = (
            ("bi", ["bert", "distilbert", "mpnet"]),
            ("cross", ["bert", "distilbert", "mpnet", "electra"]),
            ("bi", ["electra", "roberta", "xlm-roberta"]),
            ("cross", ["roberta", "xlm-roberta"]),
        )
        for kind, families in groups:
            for family in families:
                tok, vocab_name = tokenizer_for(family, work, out, cuts)
                for i in range(args.per_family):
                    s = draw(rng, family, kind, len(tok), i)
                    s["tokenizer"] = vocab_name
                    name = f"{kind}-{family}-{i:03d}"
                    try:
                        result = make(family, kind, s, name, tok, work, out)
                    except Exception as e:  # a config transformers itself refuses: drawn again is simpler, but say so
                        raise SystemExit(f"{name}: {s}: {e}") from e
                    entries.append({"name": name, "family": family, "kind": kind, "tokenizer": vocab_name, **{"settings": s}, **result})
                    print(f"{name}: {json.dumps(s)}", flush=True)
    write_json(
        out / "manifest.json",
        {
            "generator": "tools/reference/make_graph_configs.py",
            "versions": versions(),
            "seed": args.seed,
            "per_family": args.per_family,
            "texts": "src/model/fixtures/texts.json",
            "pairs": pairs(),
            "configs": entries,
        },
    )
    print(f"{len(entries)} configs in {out}")


if __name__ == "__main__":
    main()
