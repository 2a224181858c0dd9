"""Check that `semsearch mine` output loads as sentence-transformers training data (run by hand; Python is a reference).

    ~/venvs/ref/bin/python tools/reference/check_mine_jsonl.py DIR

DIR holds triplet-plain.jsonl (default output), and triplet.jsonl, n-tuple.jsonl, labeled-pair.jsonl and
labeled-list.jsonl made with --output-scores. Each is read with datasets.load_dataset("json", ...); the plain
triplets and the n-tuples with scores then train a tiny random bi-encoder for one step with
MultipleNegativesRankingLoss and MarginMSELoss (scores turned into the margins it regresses on), and the labeled pairs
a tiny random cross-encoder with BinaryCrossEntropyLoss, through the trainers, as a training script would.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import minilm_dir  # noqa: E402

from datasets import load_dataset  # noqa: E402
from sentence_transformers import CrossEncoder, SentenceTransformer, SentenceTransformerTrainer, SentenceTransformerTrainingArguments  # noqa: E402
from sentence_transformers.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments  # noqa: E402
from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss  # noqa: E402
from sentence_transformers.losses import MarginMSELoss, MultipleNegativesRankingLoss  # noqa: E402
from sentence_transformers.sentence_transformer.modules import Pooling, Transformer  # noqa: E402
from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification, BertModel  # noqa: E402


def tiny(work: Path) -> tuple[SentenceTransformer, CrossEncoder]:
    tok = AutoTokenizer.from_pretrained(str(minilm_dir()))
    cfg = BertConfig(vocab_size=len(tok), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32, num_labels=1)
    BertModel(cfg).save_pretrained(str(work / "bi"))
    tok.save_pretrained(str(work / "bi"))
    BertForSequenceClassification(cfg).save_pretrained(str(work / "ce"))
    tok.save_pretrained(str(work / "ce"))
    t = Transformer(str(work / "bi"), max_seq_length=64)
    return SentenceTransformer(modules=[t, Pooling(16, "mean")], device="cpu"), CrossEncoder(str(work / "ce"), device="cpu")


def main() -> None:
    d = Path(sys.argv[1])
    sets = {name: load_dataset("json", data_files=str(d / f"{name}.jsonl"), split="train") for name in ["triplet-plain", "triplet", "n-tuple", "labeled-pair", "labeled-list"]}
    for name, ds in sets.items():
        print(f"{name}: {ds.num_rows} rows, features {dict(ds.features)}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bi, ce = tiny(work)
        one = dict(max_steps=1, per_device_train_batch_size=8, report_to=[], save_strategy="no", use_cpu=True)
        SentenceTransformerTrainer(model=bi, args=SentenceTransformerTrainingArguments(output_dir=str(work / "o1"), **one), train_dataset=sets["triplet-plain"], loss=MultipleNegativesRankingLoss(bi)).train()
        print("triplet-plain: one MultipleNegativesRankingLoss step")
        # MarginMSE regresses on positive score minus negative score: one margin per negative column.
        nt = sets["n-tuple"].map(lambda r: {"label": [r["scores"][0] - s for s in r["scores"][1:]]}).remove_columns("scores")
        SentenceTransformerTrainer(model=bi, args=SentenceTransformerTrainingArguments(output_dir=str(work / "o2"), **one), train_dataset=nt, loss=MarginMSELoss(bi)).train()
        print("n-tuple with scores: one MarginMSELoss step")
        lp = sets["labeled-pair"].rename_column("score", "label")
        CrossEncoderTrainer(model=ce, args=CrossEncoderTrainingArguments(output_dir=str(work / "o3"), **one), train_dataset=lp, loss=BinaryCrossEntropyLoss(ce)).train()
        print("labeled-pair with scores: one BinaryCrossEntropyLoss step (cross-encoder distillation)")
    print("ok")


if __name__ == "__main__":
    main()
