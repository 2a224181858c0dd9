#!/usr/bin/env bash
# Proves the WebAssembly SIMD search kernels on an AVX2-only CPU from a machine with AVX-512: runs their tests inside
# qemu-user emulating a Haswell CPU (AVX2, no AVX-512), so V8 picks the instructions it would pick there. The test
# file is run directly, not under `node --test`, which would start it in a child process outside qemu.
# Needs Debian's qemu-user (apt-get install -y qemu-user); about 3.5 minutes on 2 cores. Not part of npm test.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v qemu-x86_64 >/dev/null || { echo "qemu-x86_64 not found: apt-get install -y qemu-user" >&2; exit 2; }
exec qemu-x86_64 -cpu Haswell "$(command -v node)" --conditions=source --import tsx --test-reporter=spec src/store/simd/simd-scan.test.ts
