"""Regenerate the prompt fixtures in src/model/fixtures/prompts/ (run by hand; Python is a reference only).

    ~/venvs/ref/bin/python tools/reference/make_prompt_fixtures.py

Each prompt variant is models/bert/ (the tiny random BERT of make_fixtures.py) with its own
config_sentence_transformers.json (and Pooling config where include_prompt is false) written in the form the hub's
checkpoints use:

  e5          prompts {"query": "query: ", "passage": "passage: "} (no "document" key), no default
  bge         prompts {"query": "Represent this sentence for searching relevant passages: "}, no default
  instructor  prompts {"query": "Represent the question: ", "document": "Represent the document: "},
              default_prompt_name "query", Pooling include_prompt false (prompt tokens left out of mean pooling)

vectors.json holds, per variant, sentence-transformers' own (torch) embeddings at batch size 32 of texts.json's
texts for encode_query, encode_document, encode (no prompt arguments: default_prompt_name applies) and encode with
each prompt name, plus the prompts dict ST ends up with after loading (it adds "query": "" and "document": "" when a
file lacks them, which is why encode_document on an e5 folder uses no prompt: "document" is found first, empty).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REPO_ROOT, b64_f32, versions, write_json  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402

FIXTURES = REPO_ROOT / "src" / "model" / "fixtures"
OUT = FIXTURES / "prompts"

VARIANTS = {
    "e5": {"prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": None, "include_prompt": True},
    "bge": {
        "prompts": {"query": "Represent this sentence for searching relevant passages: "},
        "default_prompt_name": None,
        "include_prompt": True,
    },
    "instructor": {
        "prompts": {"query": "Represent the question: ", "document": "Represent the document: "},
        "default_prompt_name": "query",
        "include_prompt": False,
    },
}


def variant_files(spec: dict) -> dict[str, str]:
    st = {"prompts": spec["prompts"], "default_prompt_name": spec["default_prompt_name"], "similarity_fn_name": "cosine"}
    files = {"config_sentence_transformers.json": json.dumps(st, indent=2) + "\n"}
    pool = json.loads((FIXTURES / "models" / "bert" / "1_Pooling" / "config.json").read_text())
    if not spec["include_prompt"]:
        pool["include_prompt"] = False
        files["1_Pooling/config.json"] = json.dumps(pool, indent=2) + "\n"
    return files


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    texts = [t["text"] for t in json.loads((FIXTURES / "texts.json").read_text())["texts"]]
    out: dict = {"versions": versions(), "texts": "texts.json", "batch_size": 32, "variants": {}}
    for name, spec in VARIANTS.items():
        vdir = OUT / name
        if vdir.exists():
            shutil.rmtree(vdir)
        for rel, text in variant_files(spec).items():
            (vdir / rel).parent.mkdir(parents=True, exist_ok=True)
            (vdir / rel).write_text(text)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "m"
            shutil.copytree(FIXTURES / "models" / "bert", folder)
            shutil.copytree(vdir, folder, dirs_exist_ok=True)
            model = SentenceTransformer(str(folder), device="cpu")
            enc = lambda f, **kw: b64_f32(f(texts, batch_size=32, convert_to_numpy=True, show_progress_bar=False, **kw))  # noqa: E731
            entry = {
                "prompts": dict(model.prompts),
                "default_prompt_name": model.default_prompt_name,
                "include_prompt": spec["include_prompt"],
                "encode_query": enc(model.encode_query),
                "encode_document": enc(model.encode_document),
                "encode": enc(model.encode),
                "by_prompt_name": {p: enc(model.encode, prompt_name=p) for p in model.prompts},
                "prompt_empty": enc(model.encode, prompt=""),
            }
            # What the fixtures are for: the prompts must change the vectors.
            q = np.asarray(model.encode_query(texts[:3]))
            plain = np.asarray(model.encode(texts[:3], prompt=""))
            assert np.abs(q - plain).max() > 1e-3, name
            out["variants"][name] = entry
    write_json(OUT / "vectors.json", out)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
