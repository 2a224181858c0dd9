"""Hub cache interoperation between Python huggingface_hub and semsearch, run by hand (not in CI).

Starts the hub look-alike (src/hub/test-support/serve-fixture.ts) on loopback, points both libraries at it with
HF_ENDPOINT, and checks that each one reads what the other wrote into a shared HF_HUB_CACHE:

  1. Python snapshot_download / hf_hub_download  ->  semsearch resolveModel with HF_HUB_OFFLINE=1 (no request at all)
  2. semsearch resolveModel online               ->  Python hf_hub_download / snapshot_download / scan_cache_dir offline
  3. semsearch killed (SIGKILL) mid-download        ->  Python resumes its blobs/<sha256>.incomplete with a Range request

Usage (from the repository root, after `npm ci`):
  ~/venvs/ref/bin/pip install -r tools/reference/requirements-hub.txt
  ~/venvs/ref/bin/python tools/reference/hub_interop.py
Exits 0 when every check passes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NODE = shutil.which("node") or "node"
SERVE = ROOT / "src/hub/test-support/serve-fixture.ts"
CLI = ROOT / "src/hub/test-support/resolve-cli.ts"

# What semsearch fetches for the default variant (src/hub/test-support/fixture.ts NEEDED_DEFAULT).
NEEDED = [
    "modules.json",
    "config_sentence_transformers.json",
    "sentence_bert_config.json",
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "1_Pooling/config.json",
    "2_Dense/config.json",
    "2_Dense/model.safetensors",
    "onnx/model.onnx",
]

failures: list[str] = []


def check(ok: bool, what: str) -> None:
    print(("PASS " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_") and k != "TRANSFORMERS_OFFLINE"}
    env.update(HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_PROGRESS_BARS="1")
    env.update(extra)
    return env


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def server_requests(endpoint: str) -> list[dict]:
    with urllib.request.urlopen(endpoint + "/__requests") as r:
        return json.load(r)


def control(endpoint: str, method: str, fault: dict | None = None) -> None:
    """Adds (POST) or clears (DELETE) faults on the look-alike hub."""
    data = None if fault is None else json.dumps(fault).encode()
    urllib.request.urlopen(urllib.request.Request(endpoint + "/__faults", data=data, method=method)).close()


def semsearch(name: str, env: dict[str, str], options: dict | None = None) -> dict:
    cmd = [NODE, "--import", "tsx", str(CLI), name, json.dumps(options or {})]
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    line = (p.stdout.strip().splitlines() or ["{}"])[-1]
    out = json.loads(line)
    print(f"  semsearch {name} {json.dumps(options or {})} -> {line}", flush=True)
    return out


def python(code: str, env: dict[str, str]) -> dict:
    """Runs huggingface_hub in a fresh interpreter: it reads HF_* once, at import."""
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if p.returncode != 0:
        print(p.stderr, file=sys.stderr)
        raise SystemExit(f"python snippet failed ({p.returncode})")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> int:
    import huggingface_hub

    print(f"huggingface_hub {huggingface_hub.__version__}, node {subprocess.check_output([NODE, '--version'], text=True).strip()}")
    work = Path(tempfile.mkdtemp(prefix="semsearch-interop-"))
    server = subprocess.Popen(
        [NODE, "--import", "tsx", str(SERVE), str(work / "fixture")],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        info = json.loads(server.stdout.readline())
        endpoint, repo, commit, old = info["endpoint"], info["repoId"], info["commit"], info["oldCommit"]
        sums: dict[str, str] = info["sha256"]
        print(f"look-alike hub at {endpoint} (CDN {info['cdn']}), {repo} main={commit} v1.0={old}")
        storage_name = "models--" + repo.replace("/", "--")

        # 1. Python downloads, semsearch loads offline from the same cache.
        print("\n[1] Python downloads, semsearch resolves offline")
        cache1 = work / "cache-python-first"
        env_py = clean_env(HF_ENDPOINT=endpoint, HF_HUB_CACHE=str(cache1))
        got = python(
            "import json\n"
            "from huggingface_hub import snapshot_download, hf_hub_download\n"
            f"main = snapshot_download({repo!r})\n"
            f"old = [hf_hub_download({repo!r}, f, revision='v1.0') for f in ('config.json', 'tokenizer.json', 'onnx/model.onnx')]\n"
            "print(json.dumps({'main': main, 'old': old}))\n",
            env_py,
        )
        print(f"  python snapshot_download -> {got['main']}")
        before = len(server_requests(endpoint))
        env_off = clean_env(HF_ENDPOINT=endpoint, HF_HUB_CACHE=str(cache1), HF_HUB_OFFLINE="1")
        r_main = semsearch(repo.split("/")[1], env_off)
        r_old = semsearch(repo, env_off, {"revision": "v1.0"})
        r_o4 = semsearch(repo, env_off, {"variant": "O4"})
        r_missing = semsearch(repo, clean_env(HF_ENDPOINT=endpoint, HF_HUB_CACHE=str(cache1)), {"localFilesOnly": True, "revision": "v1.0", "variant": "O4"})
        after = len(server_requests(endpoint))
        check(r_main.get("ok") is True and r_main.get("dir") == got["main"], "semsearch offline returns the snapshot Python downloaded (bare name)")
        check(r_old.get("dir") == str(cache1 / storage_name / "snapshots" / old), "semsearch offline follows refs/v1.0 written by Python")
        check(r_o4.get("ok") is True, "semsearch offline finds the O4 variant Python downloaded")
        check(
            r_missing.get("code") == "HUB_OFFLINE_MISSING" and "onnx/model_O4.onnx" in r_missing.get("message", ""),
            "semsearch offline names the file Python did not download (onnx/model_O4.onnx at v1.0)",
        )
        check(after == before, f"no request reached the hub while semsearch was offline ({after - before} requests)")
        snap = Path(r_main["dir"])
        check(all(sha256(snap / f) == sums[f] for f in NEEDED), "every needed file in that snapshot has the hub's sha256")
        r_online = semsearch(repo, clean_env(HF_ENDPOINT=endpoint, HF_HUB_CACHE=str(cache1)))
        new = server_requests(endpoint)[after:]
        check(
            r_online.get("dir") == got["main"] and [q["url"] for q in new] == [f"/api/models/{repo}/revision/main"],
            f"semsearch online on Python's cache downloads nothing (requests: {[q['method'] + ' ' + q['url'] for q in new]})",
        )

        # 2. semsearch downloads, Python loads offline from the same cache.
        print("\n[2] semsearch downloads, Python resolves offline")
        cache2 = work / "cache-semsearch-first"
        env_ts = clean_env(HF_ENDPOINT=endpoint, HF_HUB_CACHE=str(cache2))
        s_main = semsearch(repo.split("/")[1], env_ts)
        s_q = semsearch(repo, env_ts, {"variant": "qint8_avx2"})
        s_old = semsearch(repo, env_ts, {"revision": "v1.0"})
        check(s_main.get("ok") is True and s_q.get("ok") is True and s_old.get("ok") is True, "semsearch downloads main, main+qint8_avx2 and v1.0")
        before = len(server_requests(endpoint))
        files = NEEDED + ["onnx/model_qint8_avx2.onnx"]
        got2 = python(
            "import json\n"
            "from huggingface_hub import hf_hub_download, snapshot_download, try_to_load_from_cache, scan_cache_dir\n"
            "from huggingface_hub.utils import LocalEntryNotFoundError\n"
            f"files = {files!r}\n"
            f"paths = {{f: hf_hub_download({repo!r}, f) for f in files}}\n"
            f"snap = snapshot_download({repo!r})\n"
            f"snap_old = snapshot_download({repo!r}, revision='v1.0')\n"
            f"cached = try_to_load_from_cache({repo!r}, 'onnx/model.onnx')\n"
            "try:\n"
            f"    hf_hub_download({repo!r}, 'pytorch_model.bin')\n"
            "    weights = 'downloaded?!'\n"
            "except LocalEntryNotFoundError:\n"
            "    weights = 'LocalEntryNotFoundError'\n"
            f"report = scan_cache_dir({str(cache2)!r})\n"
            "repos = [{'id': r.repo_id, 'refs': sorted(r.refs), 'revisions': sorted(v.commit_hash for v in r.revisions),\n"
            "          'files': sorted(str(f.file_path.relative_to(v.snapshot_path)) for v in r.revisions for f in v.files if v.commit_hash == r.refs['main'].commit_hash)}\n"
            "         for r in report.repos]\n"
            "print(json.dumps({'paths': paths, 'snap': snap, 'snap_old': snap_old, 'cached': cached, 'weights': weights,\n"
            "                  'repos': repos, 'warnings': [str(w) for w in report.warnings], 'size': report.size_on_disk}))\n",
            clean_env(HF_ENDPOINT=endpoint, HF_HUB_CACHE=str(cache2), HF_HUB_OFFLINE="1"),
        )
        after = len(server_requests(endpoint))
        check(got2["snap"] == s_main["dir"], f"Python snapshot_download offline returns semsearch's snapshot {got2['snap']}")
        check(got2["snap_old"] == s_old["dir"], "Python follows refs/v1.0 written by semsearch")
        check(all(sha256(Path(p)) == sums[f] for f, p in got2["paths"].items()), f"Python hf_hub_download offline reads all {len(files)} files with the hub's sha256")
        check(got2["cached"] == str(Path(s_main["dir"]) / "onnx/model.onnx"), "try_to_load_from_cache finds onnx/model.onnx")
        check(got2["weights"] == "LocalEntryNotFoundError", "the transformer weights were never downloaded (Python cannot find pytorch_model.bin)")
        check(got2["warnings"] == [], f"scan_cache_dir sees a well-formed cache (warnings: {got2['warnings']})")
        rep = got2["repos"][0] if got2["repos"] else {}
        check(rep.get("refs") == ["main", "v1.0"] and rep.get("revisions") == sorted([commit, old]), f"scan_cache_dir: refs {rep.get('refs')}, 2 revisions")
        check(rep.get("files") == sorted(files), f"scan_cache_dir lists exactly the {len(files)} files semsearch fetched at main")
        check(after == before, f"no request reached the hub while Python was offline ({after - before} requests)")

        # 3. semsearch is killed mid-download; Python resumes its partial file (same <blob>.incomplete name).
        print("\n[3] semsearch killed mid-download, Python resumes the partial file")
        cache3 = work / "cache-partial"
        onnx_sha = sums["onnx/model.onnx"]
        partial = cache3 / storage_name / "blobs" / f"{onnx_sha}.incomplete"
        control(endpoint, "POST", {"server": "cdn", "method": "GET", "pathIncludes": f"/repos/{onnx_sha}", "slow": {"chunkBytes": 2000, "delayMs": 40}})
        victim = subprocess.Popen(
            [NODE, "--import", "tsx", str(CLI), repo, "{}"],
            cwd=ROOT,
            env=clean_env(HF_ENDPOINT=endpoint, HF_HUB_CACHE=str(cache3)),
            stdout=subprocess.DEVNULL,
        )
        deadline = time.time() + 20
        while not (partial.exists() and partial.stat().st_size >= 20_000) and time.time() < deadline:
            time.sleep(0.01)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        kept = partial.stat().st_size if partial.exists() else 0
        onnx = (Path(info["fixtureDir"]) / "onnx/model.onnx").read_bytes()
        check(0 < kept < len(onnx) and partial.read_bytes() == onnx[:kept], f"semsearch killed with {kept} of {len(onnx)} bytes in {partial.name}")
        control(endpoint, "DELETE")
        before = len(server_requests(endpoint))
        got3 = python(
            "import json\n"
            "from huggingface_hub import hf_hub_download\n"
            f"print(json.dumps({{'path': hf_hub_download({repo!r}, 'onnx/model.onnx')}}))\n",
            clean_env(HF_ENDPOINT=endpoint, HF_HUB_CACHE=str(cache3)),
        )
        ranges = [q.get("range") for q in server_requests(endpoint)[before:] if q["server"] == "cdn" and q["url"].startswith("/repos/")]
        check(
            sha256(Path(got3["path"])) == onnx_sha and ranges == [f"bytes={kept}-"],
            f"Python resumed semsearch's partial file at byte {kept} (CDN ranges {ranges}) and got the right sha256",
        )
        before = len(server_requests(endpoint))
        r3 = semsearch(repo, clean_env(HF_ENDPOINT=endpoint, HF_HUB_CACHE=str(cache3)))
        refetched = [q for q in server_requests(endpoint)[before:] if q["url"].startswith(f"/repos/{onnx_sha}")]
        check(r3.get("ok") is True and not refetched, "semsearch then completes the snapshot, reusing the onnx blob Python finished")
    finally:
        server.stdin.close()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.terminate()
        shutil.rmtree(work, ignore_errors=True)

    print(f"\n{'ALL PASSED' if not failures else f'{len(failures)} FAILED'}")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
