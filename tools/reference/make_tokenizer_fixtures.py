"""Tokenizer parity fixtures for the BPE and Unigram pipelines (src/model/tokenizer/fixtures/pipelines/).

Builds small tokenizer.json files with the Rust `tokenizers` library (vocabularies trained on a small text sample,
so merges and scores are realistic) plus one shaped exactly like XLM-R's (a SentencePiece Unigram model trained with
`sentencepiece`, converted by transformers' XLMRobertaConverter: Precompiled nmt_nfkc charsmap, Metaspace,
TemplateProcessing), and writes the ids `tokenizers` gives for every fixture text: single, truncated, and
`longest_first` pairs.

    /root/venvs/ref/bin/pip install -r tools/reference/requirements-tokenizers.txt
    /root/venvs/ref/bin/python tools/reference/make_tokenizer_fixtures.py
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
from pathlib import Path

# The `tokenizers` UnigramTrainer is not reproducible (two reruns, even on one thread, gave different scores for
# unigram-metaspace and unigram-byte-fallback; the BPE and sentencepiece ones are identical): the committed
# tokenizer.json files are the reference, and expected.json is always computed from the file as saved.
os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import sentencepiece as spm  # noqa: E402
import tokenizers  # noqa: E402
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers # noqa: E402
from transformers import XLMRobertaTokenizer # noqa: E402
from transformers.convert_slow_tokenizer import XLMRobertaConverter # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from texts import PASSAGES, _SENTENCES, fixture_texts  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "src/model/tokenizer/fixtures/pipelines"
SEED = 20260534
MAX_LENGTH = 16
PAIR_MAX_LENGTH = 24
N_RANDOM = 300
FULL_PAIRS = 120

# Written for these fixtures: the scripts and character kinds the multilingual models meet.
MULTILINGUAL = [
    ("cjk-zh", "我们在北京大学学习人工智能和机器学习。"),
    ("cjk-ja", "日本語のテキストを正しく分割できますか？カタカナ、ひらがな、漢字。"),
    ("cjk-ko", "한국어 토큰화는 음절 단위로 이루어집니다."),
    ("arabic", "مرحبا بالعالم، هذه جملة باللغة العربية مع أرقام ١٢٣ و 456."),
    ("arabic-diacritics", "اَلْعَرَبِيَّةُ لُغَةٌ جَمِيلَةٌ"),
    ("hebrew-rtl", "\u05e9\u05dc\u05d5\u05dd \u200f\u05e2\u05d5\u05dc\u05dd\u200e and \u202eLTR override\u202c"),
    ("devanagari", "हिन्दी भाषा में क्षत्रिय और ज्ञान जैसे संयुक्ताक्षर होते हैं।"),
    ("devanagari-nukta", "क़ ख़ ग़ ज़ ड़ ढ़ फ़ य़ and क\u093c"),
    ("thai", "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ"),
    ("emoji-zwj", "family 👨‍👩‍👧‍👦 couple 👩‍❤️‍💋‍👨 technologist 👩🏽‍💻 rainbow 🏳️‍🌈"),
    ("emoji-skin", "👍🏻👍🏼👍🏽👍🏾👍🏿 👋🏿 🤝🏽"),
    ("emoji-keycap-flags", "1️⃣ #️⃣ 🇫🇷🇩🇪🇯🇵 🏴󠁧󠁢󠁳󠁣󠁴󠁿"),
    ("combining-stack", "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a\u032f\u031e\u0320\u034dalgo"),
    ("combining-fullwidth", "\uff21\u0301 \uff41\u0308 e\u0301 \u1100\u1161\u11a8"),
    ("zero-width", "zero\u200bwidth\u200cnon\u200djoiner\ufeffbom\u2060word"),
    ("nbsp-ideographic-space", "a\u00a0b\u3000c\u2009d\u202fe\u2028f\u2029g\u0085h"),
    ("compat-chars", "ﬁ ﬂ ㎏ ① ½ ™ Ⅻ ｈｅｌｌｏ ﾊﾝｶｸ ℌ ℍ"),
    ("very-long-word", "Donaudampfschifffahrtsgesellschaftskapitän" * 12),
    ("long-cjk-run", "漢字" * 150),
    ("long-emoji-run", "😀" * 200),
    ("repeated-spaces", "a    b \t\t c\n\n\nd     "),
    ("leading-trailing", "   padded text   "),
    ("only-newlines", "\n\n\n"),
    ("only-nbsp", "\u00a0\u00a0"),
    ("only-zwsp", "\u200b\u200b"),
    ("empty-again", ""),
    ("special-tokens-inline", "<s>hello</s> world <mask> and<mask>there <unk> <pad>"),
    ("quotes-spm", "``quoted'' text with ``double backticks'' and 'single'"),
    ("contractions", "It's what we've done, they're here, I'm sure, we'll see, he'd know. IT'S LOUD"),
    ("digits-mixed", "Call 0800-123-456 or ٠١٢٣ or १२३ or 一二三 on 2026-12-07"),
]

RANDOM_RANGES = [
    (0x20, 0x7E, 30), (0x09, 0x0A, 3), (0xA0, 0xFF, 4), (0x300, 0x36F, 4), (0x391, 0x3C9, 2), (0x410, 0x44F, 3),
    (0x5D0, 0x5EA, 2), (0x600, 0x6FF, 4), (0x900, 0x97F, 5), (0xE01, 0xE5B, 2), (0x3041, 0x30FF, 3),
    (0x4E00, 0x4FFF, 5), (0xAC00, 0xAD00, 3), (0xFF01, 0xFF5E, 2), (0x1F300, 0x1F64F, 4), (0x1F3FB, 0x1F3FF, 2),
    (0x200B, 0x200F, 2), (0x2028, 0x202F, 1), (0x3000, 0x3000, 1), (0xFE0F, 0xFE0F, 1), (0xFEFF, 0xFEFF, 1),
    (0x2160, 0x217F, 1), (0xFB00, 0xFB06, 1), (0x1D400, 0x1D4FF, 1),
]
INSERTS = ["<s>", "</s>", "<mask>", "<unk>", " ", "  ", "``", "''", "'s", "\u200d"]


def random_texts() -> list[dict[str, str]]:
    rng = random.Random(SEED)
    weights = [w for _, _, w in RANDOM_RANGES]
    out = []
    for i in range(N_RANDOM):
        parts = []
        for _ in range(rng.randint(0, 40)):
            if rng.random() < 0.05:
                parts.append(rng.choice(INSERTS))
                continue
            lo, hi, _ = rng.choices(RANDOM_RANGES, weights)[0]
            parts.append(chr(rng.randint(lo, hi)))
        out.append({"id": f"random-{i}", "text": "".join(parts)})
    return out


def training_text() -> list[str]:
    lines = list(PASSAGES) + list(_SENTENCES) + [t for _, t in MULTILINGUAL] + [t["text"] for t in fixture_texts()]
    return lines * 3


def specials(tok: Tokenizer) -> None:
    tok.add_special_tokens(
        [
            AddedToken("<s>", special=True, normalized=False),
            AddedToken("<pad>", special=True, normalized=False),
            AddedToken("</s>", special=True, normalized=False),
            AddedToken("<unk>", special=True, normalized=False),
            AddedToken("<mask>", special=True, normalized=False, lstrip=True),
        ]
    )


def bpe_roberta() -> Tokenizer:
    """RoBERTa's shape: byte-level BPE, no prefix space, RobertaProcessing."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1200, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(training_text(), trainer)
    specials(tok)
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")), trim_offsets=True, add_prefix_space=False)
    return tok


def bpe_gpt2_template() -> Tokenizer:
    """GPT-2 style with a prefix space, NFC + lowercase, a byte-level + template post-processor, a normalized added token."""
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)
    trainer = trainers.BpeTrainer(vocab_size=900, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(training_text(), trainer)
    specials(tok)
    tok.add_tokens([AddedToken("London", normalized=True)])
    tok.post_processor = processors.Sequence(
        [
            processors.ByteLevel(trim_offsets=True),
            processors.TemplateProcessing(
                single="<s> $A </s>",
                pair="<s> $A </s> $B:1 </s>:1",
                special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))],
            ),
        ]
    )
    return tok


def bpe_split_no_regex() -> Tokenizer:
    """BPE behind a Split + ByteLevel(use_regex=False) sequence, NFKC, Strip, Replace: the regex and Sequence paths."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Strip(), normalizers.Replace(Regex(r"\s+"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(r"\p{N}{1,3}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    trainer = trainers.BpeTrainer(vocab_size=800, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    tok.train_from_iterator(training_text(), trainer)
    specials(tok)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))]
    )
    return tok


def unigram_metaspace() -> Tokenizer:
    """A Unigram trained by `tokenizers`: NFKC, collapsed spaces, Metaspace (always, split), a template."""
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    trainer = trainers.UnigramTrainer(vocab_size=1500, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"], unk_token="<unk>", max_piece_length=8)
    tok.train_from_iterator(training_text(), trainer)
    specials(tok)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))]
    )
    return tok


def unigram_byte_fallback() -> Tokenizer:
    """Unigram with byte fallback (256 <0x..> pieces), Prepend + WhitespaceSplit + Metaspace(first, no split)."""
    base = json.loads(unigram_metaspace().to_str())
    vocab = base["model"]["vocab"]
    low = min(s for _, s in vocab) - 1.0
    vocab += [[f"<0x{b:02X}>", low] for b in range(256)]
    base["model"]["byte_fallback"] = True
    base["normalizer"] = {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"}, {"type": "Lowercase"}]}
    base["pre_tokenizer"] = {
        "type": "Sequence",
        "pretokenizers": [{"type": "WhitespaceSplit"}, {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False}],
    }
    return Tokenizer.from_str(json.dumps(base))


def xlmr_shaped(tmp: Path) -> Tokenizer:
    """XLM-R's exact shape: sentencepiece Unigram (nmt_nfkc charsmap) converted by transformers' XLMRobertaConverter."""
    corpus = tmp / "corpus.txt"
    corpus.write_text("\n".join(training_text()), encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(tmp / "spm"),
        vocab_size=1000,
        model_type="unigram",
        normalization_rule_name="nmt_nfkc",
        character_coverage=0.9995,
        hard_vocab_limit=False,
        bos_id=0,
        pad_id=1,
        eos_id=2,
        unk_id=3,
        num_threads=1,
        minloglevel=2,
    )
    slow = XLMRobertaTokenizer(vocab_file=str(tmp / "spm.model"))
    return XLMRobertaConverter(slow).converted()


def expected(tok: Tokenizer, texts: list[str], pairs: list[tuple[int, int]]) -> dict:
    tok.no_truncation()
    tok.no_padding()
    single = [e.ids for e in tok.encode_batch(texts)]
    tok.enable_truncation(max_length=MAX_LENGTH)
    truncated = [e.ids for e in tok.encode_batch(texts)]
    tok.enable_truncation(max_length=PAIR_MAX_LENGTH, strategy="longest_first")
    pair_enc = tok.encode_batch([(texts[a], texts[b]) for a, b in pairs])
    tok.no_truncation()
    # Untruncated pairs only for the first FULL_PAIRS: the rest repeat what single and truncated pairs cover.
    pair_full = tok.encode_batch([(texts[a], texts[b]) for a, b in pairs[:FULL_PAIRS]])
    return {
        "single": single,
        "truncated": truncated,
        "pairs": [{"ids": e.ids, "typeIds": e.type_ids} for e in pair_enc],
        "pairsFull": [{"ids": e.ids, "typeIds": e.type_ids} for e in pair_full],
    }


def main() -> None:
    texts = fixture_texts() + [{"id": i, "text": t} for i, t in MULTILINGUAL] + random_texts()
    strings = [t["text"] for t in texts]
    rng = random.Random(SEED + 1)
    pairs = [(i, (i * 7 + 3) % len(strings)) for i in range(len(strings))] + [(rng.randrange(len(strings)), rng.randrange(len(strings))) for _ in range(100)]
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        builders = {
            "bpe-roberta": bpe_roberta,
            "bpe-gpt2-template": bpe_gpt2_template,
            "bpe-split-no-regex": bpe_split_no_regex,
            "unigram-metaspace": unigram_metaspace,
            "unigram-byte-fallback": unigram_byte_fallback,
            "xlmr-shaped": lambda: xlmr_shaped(Path(tmp)),
        }
        manifest = {}
        for name, build in builders.items():
            tok = build()
            d = OUT / name
            d.mkdir(exist_ok=True)
            tok.save(str(d / "tokenizer.json"))
            # Reload as the product would, so the ids come from exactly the file committed.
            tok = Tokenizer.from_file(str(d / "tokenizer.json"))
            exp = expected(tok, strings, pairs)
            (d / "expected.json").write_text(json.dumps(exp, separators=(",", ":")), encoding="utf-8")
            manifest[name] = {"vocab_size": tok.get_vocab_size(), "model": json.loads(tok.to_str())["model"]["type"]}
            print(name, manifest[name])
    (OUT / "texts.json").write_text(
        json.dumps(
            {
                "description": "Texts and pairs for the tokenizer pipeline fixtures (make_tokenizer_fixtures.py).",
                "tokenizers": tokenizers.__version__,
                "maxLength": MAX_LENGTH,
                "pairMaxLength": PAIR_MAX_LENGTH,
                "models": manifest,
                "texts": texts,
                "pairs": pairs,
            },
            ensure_ascii=False,
            indent=0,
        ),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
