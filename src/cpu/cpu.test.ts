import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSemsearchError } from '../errors.js';
import { detectCpu, parseCpuinfo } from './features.js';
import { chooseInt8Variant, inaccuracyWarning, INT8_BUILT_FOR, INT8_MEASURED_SPEED, INT8_PREFERENCE, int8SpeedLine, isAccurateOn, QUANTIZED_VARIANTS } from './int8.js';

// Trimmed /proc/cpuinfo of the two machine kinds sessions draw, and of an arm64 host.
const INTEL_VNNI = `processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Processor
flags\t\t: fpu sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 avx512f avx512dq avx512cd avx512bw avx512vl avx512_vnni avx512_bf16 amx_int8
processor\t: 1
flags\t\t: fpu avx2
`;
const AMD_ZEN3 = `processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 1
model name\t: AMD EPYC 7B13
flags\t\t: fpu sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2 sha_ni vaes vpclmulqdq
`;
const SKYLAKE_SERVER = `model name\t: Intel(R) Xeon(R) Gold 6148
flags\t\t: sse4_2 avx avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl
`;
const ARM = `processor\t: 0
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics asimddp i8mm
CPU implementer\t: 0x41
`;
const OLD_X86 = `model name\t: Intel(R) Core(TM)2 Duo
flags\t\t: fpu sse2 ssse3 sse4_1
`;

test('the ISA comes from the first flags line of /proc/cpuinfo', () => {
  const env = {};
  assert.equal(detectCpu({ cpuinfo: INTEL_VNNI, arch: 'x64', env }).isa, 'avx512_vnni');
  assert.equal(detectCpu({ cpuinfo: SKYLAKE_SERVER, arch: 'x64', env }).isa, 'avx512');
  assert.equal(detectCpu({ cpuinfo: AMD_ZEN3, arch: 'x64', env }).isa, 'avx2');
  assert.equal(detectCpu({ cpuinfo: OLD_X86, arch: 'x64', env }).isa, 'baseline');
  const arm = detectCpu({ cpuinfo: ARM, arch: 'arm64', env });
  assert.equal(arm.isa, 'arm64');
  assert.equal(arm.source, 'arch');
  assert.deepEqual(arm.flags, ['asimddp', 'i8mm']);
  const amd = detectCpu({ cpuinfo: AMD_ZEN3, arch: 'x64', env });
  assert.equal(amd.model, 'AMD EPYC 7B13');
  assert.equal(amd.source, 'cpuinfo');
  assert.deepEqual(amd.flags, ['avx2', 'fma']);
  assert.deepEqual([...parseCpuinfo(INTEL_VNNI).flags].includes('avx512_vnni'), true);
});

test('SEMSEARCH_CPU_ISA overrides the reading (for emulators that pass the host file through), and is checked', () => {
  const cpu = detectCpu({ cpuinfo: INTEL_VNNI, arch: 'x64', env: { SEMSEARCH_CPU_ISA: ' AVX2 ' } });
  assert.equal(cpu.isa, 'avx2');
  assert.equal(cpu.source, 'env');
  assert.throws(
    () => detectCpu({ cpuinfo: INTEL_VNNI, arch: 'x64', env: { SEMSEARCH_CPU_ISA: 'avx1024' } }),
    (e) => isSemsearchError(e, 'INVALID_ARGUMENT') && e.field === 'SEMSEARCH_CPU_ISA' && /avx512_vnni, avx512, avx2/.test(e.message),
  );
});

test('the accuracy table: signed-weight files only with VNNI or on arm64; quint8_avx2 everywhere', () => {
  for (const isa of ['avx512', 'avx2', 'baseline'] as const) {
    for (const v of ['qint8_avx512_vnni', 'qint8_avx512', 'qint8_arm64'] as const) assert.equal(isAccurateOn(v, isa), false, `${v} on ${isa}`);
  }
  for (const isa of ['avx512_vnni', 'avx512', 'avx2', 'arm64', 'baseline'] as const) assert.equal(isAccurateOn('quint8_avx2', isa), true);
  assert.deepEqual([...INT8_PREFERENCE.avx512_vnni].sort(), [...QUANTIZED_VARIANTS].sort());
  assert.equal(isAccurateOn('qint8_arm64', 'arm64'), true);
});

test("'int8' picks the file built for the CPU when the model has it, silently", () => {
  const all = ['(default)', ...QUANTIZED_VARIANTS, 'O2'];
  for (const isa of ['avx512_vnni', 'avx2', 'arm64'] as const) {
    const c = chooseInt8Variant(all, { isa }, 'repo');
    assert.equal(c.variant, INT8_BUILT_FOR[isa]);
    assert.equal(c.fallback, undefined);
  }
});

test("'int8' falls back to the nearest accurate file and says why", () => {
  const vnniMissing = chooseInt8Variant(['qint8_avx512', 'quint8_avx2'], { isa: 'avx512_vnni' }, 'o/n');
  assert.equal(vnniMissing.variant, 'qint8_avx512');
  assert.match(vnniMissing.fallback ?? '', /o\/n has no onnx\/model_qint8_avx512_vnni\.onnx; using qint8_avx512/);
  // AVX-512 without VNNI: the file named for it saturates, so the unsigned one is taken.
  const avx512 = chooseInt8Variant([...QUANTIZED_VARIANTS], { isa: 'avx512' }, 'o/n');
  assert.equal(avx512.variant, 'quint8_avx2');
  assert.match(avx512.fallback ?? '', /qint8_avx512, the file named for avx512, saturates/);
  assert.equal(chooseInt8Variant(['quint8_avx2'], { isa: 'arm64' }, 'o/n').variant, 'quint8_avx2');
});

test('never a VNNI file on an AVX2 CPU: no accurate file is a coded error naming what is there and what to export', () => {
  assert.throws(
    () => chooseInt8Variant(['(default)', 'qint8_avx512_vnni', 'qint8_arm64'], { isa: 'avx2' }, '/models/m'),
    (e) =>
      isSemsearchError(e, 'ONNX_MISSING') &&
      e.file === 'onnx/model_quint8_avx2.onnx' &&
      e.field === 'variant' &&
      /accurate on this CPU \(avx2\): it has qint8_avx512_vnni, qint8_arm64, which drift here/.test(e.message) &&
      /export_dynamic_quantized_onnx_model\(model, "avx2"/.test(e.message),
  );
  // On AVX-512 without VNNI the file to export is the unsigned one, not the one named for it.
  assert.throws(
    () => chooseInt8Variant(['qint8_avx512', 'qint8_avx512_vnni'], { isa: 'avx512' }, 'm'),
    (e) => isSemsearchError(e, 'ONNX_MISSING') && e.file === 'onnx/model_quint8_avx2.onnx' && /export_dynamic_quantized_onnx_model\(model, "avx2"/.test(e.message),
  );
  assert.throws(() => chooseInt8Variant(['(default)'], { isa: 'avx512_vnni' }, 'm'), (e) => isSemsearchError(e, 'ONNX_MISSING') && /no quantized file/.test(e.message));
});

test('a quantized file named explicitly gets a warning only where it drifts', () => {
  assert.match(inaccuracyWarning('qint8_avx512_vnni', 'avx2') ?? '', /not accurate on this CPU \(avx2\).*variant 'int8'.* to get quint8_avx2/);
  assert.equal(inaccuracyWarning('qint8_avx512_vnni', 'avx512_vnni'), undefined);
  assert.equal(inaccuracyWarning('quint8_avx2', 'avx2'), undefined);
  assert.equal(inaccuracyWarning('O2', 'avx2'), undefined);
});

test('detectCpu reads this machine without throwing', () => {
  const cpu = detectCpu({ env: {} });
  assert.ok(['avx512_vnni', 'avx512', 'avx2', 'arm64', 'baseline'].includes(cpu.isa));
  assert.ok(cpu.cores >= 1);
});

test('int8 speed per ISA: measured ratios where they exist, never a promise where they do not', () => {
  for (const isa of Object.keys(INT8_PREFERENCE) as (keyof typeof INT8_PREFERENCE)[]) {
    const line = int8SpeedLine(isa);
    const s = INT8_MEASURED_SPEED[isa];
    if (s === undefined) {
      assert.match(line, /^not measured on /);
      continue;
    }
    // The file measured is the one 'int8' takes there, and the line gives both ratios as measured.
    assert.equal(s.file, INT8_PREFERENCE[isa][0]);
    assert.ok(line.includes(`${s.docs.toFixed(2)}× fp32 on documents`) && line.includes(`${s.queries.toFixed(2)}× on queries`), line);
  }
  // AVX2 has no VNNI: queries measured below fp32 there, and the line says int8 does not pay for them.
  assert.match(int8SpeedLine('avx2'), /on queries \(does not pay\)/);
  assert.match(int8SpeedLine('avx512_vnni'), /on documents \(pays\)/);
});
