#!/usr/bin/env bash
# Proves the AVX2 int8 path on a machine with AVX-512: runs the int8 parity tests inside qemu-user emulating a
# Haswell CPU (AVX2, no AVX-512), so ONNX Runtime's CPUID check picks its AVX2 kernels. qemu-user passes the
# host's /proc/cpuinfo through, so SEMSEARCH_CPU_ISA tells semsearch what the emulated CPU is.
# The test file is run directly, not under `node --test`, which would start it in a child process outside qemu.
# Needs Debian's qemu-user (apt-get install -y qemu-user); about 7 minutes on 2 cores. Not part of npm test.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v qemu-x86_64 >/dev/null || { echo "qemu-x86_64 not found: apt-get install -y qemu-user" >&2; exit 2; }
SEMSEARCH_CPU_ISA=avx2 exec qemu-x86_64 -cpu Haswell "$(command -v node)" --import tsx --test-reporter=spec src/encoder/parity.test.ts
