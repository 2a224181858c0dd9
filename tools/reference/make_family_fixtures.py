"""Regenerate the model-family fixtures in src/model/fixtures/families/ (run by hand; Python is a reference only).

    ~/venvs/ref/bin/python tools/reference/make_family_fixtures.py

Tiny random-initialised models (hidden 32, 2 layers, 4 heads, intermediate 64) of the families beyond BERT,
DistilBERT and MPNet, each with a real tokenizer.json trained by the `tokenizers` library on the fixture texts:

  roberta          RobertaModel, byte-level BPE (RoBERTa/GPT-2 style: ByteLevel pre-tokenizer, RobertaProcessing)
  xlm-roberta      XLMRobertaModel, SentencePiece-style Unigram (NFKC, Metaspace "▁", <s> $A </s>)
  electra          ElectraModel with embedding_size 16 != hidden_size 32 (embeddings_project), WordPiece
  cross-roberta    RobertaForSequenceClassification, 1 label (dense + tanh + out_proj on <s>)
  cross-xlm-roberta XLMRobertaForSequenceClassification, 1 label

Bi-encoders are Transformer -> Pooling(mean) -> Normalize saved by SentenceTransformer and exported by it
(backend="onnx" -> onnx/model.onnx); cross-encoders are saved and exported by CrossEncoder. model.safetensors is kept
(the graph semsearch builds from it is tested on it). vectors.json holds, per model, each input's token ids with special
tokens (Python's own: tests that run without a BPE/Unigram tokenizer feed these), the ONNX file's input names, and
sentence-transformers' torch outputs: embeddings at batch size 32 (encode) or raw logits (predict with Identity).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REPO_ROOT, b64_f32, perturb_init, sha256, versions, write_json  # noqa: E402
from texts import fixture_texts  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers  # noqa: E402
from transformers import (  # noqa: E402
    ElectraConfig,
    ElectraModel,
    ElectraTokenizerFast,
    RobertaConfig,
    RobertaForSequenceClassification,
    RobertaModel,
    RobertaTokenizerFast,
    XLMRobertaConfig,
    XLMRobertaForSequenceClassification,
    XLMRobertaModel,
    XLMRobertaTokenizerFast,
)
from sentence_transformers import CrossEncoder, SentenceTransformer  # noqa: E402
from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer  # noqa: E402

torch.set_num_threads(1)

OUT = REPO_ROOT / "src" / "model" / "fixtures" / "families"
HIDDEN, LAYERS, HEADS, INTERMEDIATE = 32, 2, 4, 64
MAX_SEQ = 40
VOCAB = 600

EXTRA = [
    "The quick brown fox jumps over the lazy dog.",
    "Semantic search finds passages by meaning, not by words.",
    "東京は日本の首都です。",
    "القاهرة هي عاصمة مصر",
    "नमस्ते दुनिया",
    "Crème brûlée, naïve café, Ångström",
    "emoji 🙂🚀 and 👍🏽",
]


def corpus() -> list[str]:
    return [t["text"] for t in fixture_texts()] + EXTRA


def bpe_tokenizer() -> RobertaTokenizerFast:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tok.train_from_iterator(corpus(), trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")), trim_offsets=True, add_prefix_space=False)
    return RobertaTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>", model_max_length=512)


def unigram_tokenizer() -> XLMRobertaTokenizerFast:
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(" {2,}", " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    tok.train_from_iterator(corpus(), trainers.UnigramTrainer(vocab_size=VOCAB, special_tokens=specials, unk_token="<unk>", show_progress=False))
    tok.add_special_tokens(["<mask>"])
    s, e = tok.token_to_id("<s>"), tok.token_to_id("</s>")
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", s), ("</s>", e)])
    return XLMRobertaTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>", model_max_length=512)


def wordpiece_tokenizer() -> ElectraTokenizerFast:
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok.train_from_iterator(corpus(), trainers.WordPieceTrainer(vocab_size=VOCAB, special_tokens=specials, show_progress=False))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    return ElectraTokenizerFast(tokenizer_object=tok, do_lower_case=True, model_max_length=512)


def sizes(**kw):
    return dict(hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS, intermediate_size=INTERMEDIATE, initializer_range=0.2, **kw)


ROBERTA_KW = dict(max_position_embeddings=MAX_SEQ + 2, pad_token_id=1, bos_token_id=0, eos_token_id=2, type_vocab_size=1, layer_norm_eps=1e-5)

SPECS = {
    "roberta": {"seed": 3001, "tok": bpe_tokenizer, "make": lambda n: RobertaModel(RobertaConfig(vocab_size=n, **sizes(**ROBERTA_KW)))},
    "xlm-roberta": {"seed": 3002, "tok": unigram_tokenizer, "make": lambda n: XLMRobertaModel(XLMRobertaConfig(vocab_size=n, **sizes(**ROBERTA_KW)))},
    "electra": {"seed": 3003, "tok": wordpiece_tokenizer, "make": lambda n: ElectraModel(ElectraConfig(vocab_size=n, embedding_size=16, max_position_embeddings=64, **sizes()))},
    "cross-roberta": {"seed": 3004, "tok": bpe_tokenizer, "cross": True, "make": lambda n: RobertaForSequenceClassification(RobertaConfig(vocab_size=n, num_labels=1, **sizes(**ROBERTA_KW)))},
    "cross-xlm-roberta": {"seed": 3005, "tok": unigram_tokenizer, "cross": True, "make": lambda n: XLMRobertaForSequenceClassification(XLMRobertaConfig(vocab_size=n, num_labels=1, **sizes(**ROBERTA_KW)))},
}


def pairs(texts: list[str]) -> list[list[str]]:
    out = [[texts[i], texts[(i * 7 + 3) % len(texts)]] for i in range(len(texts))]
    return out + [["", ""], [texts[-1] * 4, texts[-2] * 4]]


def onnx_inputs(path: Path) -> list[str]:
    return [i.name for i in onnx.load(str(path), load_external_data=False).graph.input]


def main() -> None:
    texts = [t["text"] for t in fixture_texts()] + EXTRA
    out: dict = {"versions": versions(), "texts": texts, "maxSeqLength": MAX_SEQ, "models": {}}
    if OUT.exists():
        shutil.rmtree(OUT)
    with tempfile.TemporaryDirectory() as tmp:
        for name, spec in SPECS.items():
            print("==", name, flush=True)
            hf = Path(tmp) / f"hf-{name}"
            dest = OUT / name
            tok = spec["tok"]()
            torch.manual_seed(spec["seed"])
            model = spec["make"](len(tok)).eval()
            perturb_init(model, spec["seed"] + 1)
            model.save_pretrained(str(hf))
            tok.save_pretrained(str(hf))
            entry: dict = {"modelType": model.config.model_type}
            if spec.get("cross"):
                CrossEncoder(str(hf), max_length=MAX_SEQ, device="cpu").save(str(dest))
                ce = CrossEncoder(str(dest), device="cpu")
                exported = CrossEncoder(str(dest), backend="onnx", device="cpu", model_kwargs={"provider": "CPUExecutionProvider"})
                exported.save(str(dest))
                ps = pairs(texts)
                feats = ce.tokenizer([p[0] for p in ps], [p[1] for p in ps], padding=False, truncation="longest_first", max_length=MAX_SEQ)
                entry["pairs"] = ps
                entry["inputIds"] = feats["input_ids"]
                logits = np.asarray(ce.predict(ps, batch_size=32, activation_fn=torch.nn.Identity())).reshape(len(ps), -1)
                onnx_logits = np.asarray(exported.predict(ps, batch_size=32, activation_fn=torch.nn.Identity())).reshape(len(ps), -1)
                entry["logits"] = b64_f32(logits)
                d = float(np.abs(logits - onnx_logits).max())
            else:
                tr = Transformer(str(hf), max_seq_length=MAX_SEQ)
                st = SentenceTransformer(modules=[tr, Pooling(tr.get_embedding_dimension(), pooling_mode="mean"), Normalize()], device="cpu")
                st.save(str(dest), create_model_card=False)
                st = SentenceTransformer(str(dest), device="cpu")
                exported = SentenceTransformer(str(dest), backend="onnx", device="cpu")
                exported.save(str(dest), create_model_card=False)
                entry["inputIds"] = [st.preprocess([t])["input_ids"][0].tolist() for t in texts]
                emb = st.encode(texts, batch_size=32, convert_to_numpy=True)
                entry["embeddings"] = b64_f32(emb)
                d = float(np.abs(emb - exported.encode(texts, batch_size=32, convert_to_numpy=True)).max())
            # The model card carries dates (not reproducible); ST writes an empty 2_Normalize folder the hub repos lack.
            (dest / "README.md").unlink(missing_ok=True)
            norm = dest / "2_Normalize"
            if norm.exists() and not any(norm.iterdir()):
                norm.rmdir()
            entry["onnxInputs"] = onnx_inputs(dest / "onnx" / "model.onnx")
            entry["padId"] = tok.pad_token_id
            entry["files"] = {str(p.relative_to(dest)): sha256(p) for p in sorted(dest.rglob("*")) if p.is_file()}
            print(f"   inputs {entry['onnxInputs']}; max |python onnx - torch| = {d:.3g}", flush=True)
            assert d < 1e-5, d
            out["models"][name] = entry
    write_json(OUT / "vectors.json", out)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
