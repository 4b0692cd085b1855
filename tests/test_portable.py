"""The baseline path runs on any x86-64 CPU.

1. Disassembly: the baseline kernel objects, and every function of the final extension
   outside the ``simdoptim::avx2`` / ``simdoptim::avx512`` namespaces, use no instruction
   beyond the x86-64 baseline (SSE2): no VEX/EVEX encoding, no ymm/zmm/mask registers, no
   SSE3..SSE4.2, BMI, POPCNT, F16C. This is what the per-ISA namespaces exist for: an inline
   function or template compiled with -mavx2 and picked by the linker (COMDAT) for the
   baseline path would show up here.
2. Emulation: under ``qemu-x86_64 -cpu Nehalem`` (a pre-AVX CPU) the import picks the
   baseline path by itself and its results equal the reference.
"""

from __future__ import annotations

import functools
import glob
import os
import platform
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

import simdoptim

pytestmark = pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="x86-64 only")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OBJDUMP = shutil.which("objdump")
needs_objdump = pytest.mark.skipif(OBJDUMP is None, reason="objdump (binutils) not installed")

# Instructions a baseline x86-64 CPU (SSE2) may lack. Anything VEX/EVEX encoded starts with
# "v" in AT&T syntax and is caught separately.
BEYOND_BASELINE = set("""
addsubps addsubpd haddps haddpd hsubps hsubpd movddup movshdup movsldup lddqu
pshufb palignr pabsb pabsw pabsd phaddw phaddd phaddsw phsubw phsubd phsubsw pmaddubsw pmulhrsw psignb psignw psignd
blendps blendpd blendvps blendvpd pblendw pblendvb dpps dppd roundps roundpd roundss roundsd ptest insertps extractps
pminsb pminsd pminuw pminud pmaxsb pmaxsd pmaxuw pmaxud pmulld pmuldq packusdw pcmpeqq mpsadbw phminposuw movntdqa
pmovsxbw pmovsxbd pmovsxbq pmovsxwd pmovsxwq pmovsxdq pmovzxbw pmovzxbd pmovzxbq pmovzxwd pmovzxwq pmovzxdq
pextrb pextrd pextrq pinsrb pinsrd pinsrq pcmpgtq pcmpestri pcmpestrm pcmpistri pcmpistrm crc32 popcnt
andn blsr blsi blsmsk tzcnt lzcnt shlx shrx sarx rorx bzhi pdep pext mulx movbe adcx adox
""".split())
WIDE_REGISTER = re.compile(r"%(?:[yz]mm\d+|k[0-7])\b")
FUNCTION = re.compile(r"^[0-9a-f]+ <(.*)>:$")
INSTRUCTION = re.compile(r"^\s*[0-9a-f]+:\s+(?:(?:lock|rep|repz|repnz|notrack|bnd|data16|cs|ds)\s+)*([a-z][a-z0-9.]*)")
WIDE_NAMESPACES = ("simdoptim::avx2::", "simdoptim::avx512::")


@functools.cache
def disassemble(path):
    """{function name: [(mnemonic, line)]} of a file, via objdump -d --demangle."""
    out = subprocess.run([OBJDUMP, "-d", "--demangle", "--no-show-raw-insn", path], capture_output=True, text=True,
                         check=True).stdout
    functions, current = {}, None
    for line in out.splitlines():
        m = FUNCTION.match(line)
        if m:
            current = functions.setdefault(m.group(1), [])
            continue
        m = INSTRUCTION.match(line)
        if m and current is not None:
            current.append((m.group(1), line.strip()))
    return functions


def violations(instructions):
    bad = []
    for mnemonic, line in instructions:
        if mnemonic.startswith("v") and mnemonic not in ("verr", "verw") or WIDE_REGISTER.search(line):
            bad.append(line)
        elif mnemonic in BEYOND_BASELINE:
            bad.append(line)
    return bad


def baseline_objects():
    pattern = os.path.join(ROOT, "build", "**", "CMakeFiles", "kernels_baseline.dir", "**", "*.o")
    objects = glob.glob(pattern, recursive=True)
    if not objects:
        pytest.skip("no build tree with baseline kernel objects next to the tests (installed from a wheel?)")
    newest = max(objects, key=os.path.getmtime)
    tree = newest.split(os.sep + "CMakeFiles" + os.sep)[0]
    return sorted(o for o in objects if o.startswith(tree + os.sep))


@needs_objdump
def test_baseline_kernel_objects_use_only_baseline_instructions():
    objects = baseline_objects()
    assert any(o.endswith("adam.cpp.o") for o in objects)
    for obj in objects:
        functions = disassemble(obj)
        assert functions, obj
        for name, instructions in functions.items():
            assert not violations(instructions), (obj, name, violations(instructions)[:5])


def extension_with_symbols():
    """The installed extension, or if it was stripped (wheels are), the same library in the
    build tree before install; skips when neither has function names to check against."""
    candidates = [simdoptim._core.__file__] + sorted(
        glob.glob(os.path.join(ROOT, "build", "*", os.path.basename(simdoptim._core.__file__))), key=os.path.getmtime,
        reverse=True)
    for path in candidates:
        if any("simdoptim::" in name for name in disassemble(path)):
            return path
    pytest.skip("the extension is stripped and no unstripped build of it is next to the tests")


@needs_objdump
def test_extension_uses_wide_instructions_only_inside_the_wide_namespaces():
    path = extension_with_symbols()
    functions = disassemble(path)
    outside = {name: violations(ins) for name, ins in functions.items()
               if not any(ns in name for ns in WIDE_NAMESPACES)}
    outside = {k: v for k, v in outside.items() if v}
    assert not outside, {k: v[:3] for k, v in list(outside.items())[:5]}
    # the check can fail: the wide paths are in this very file and are caught by it
    compiled = simdoptim.cpu_info()["compiled_isas"]
    for isa, register in (("avx2", "%ymm"), ("avx512", "%zmm")):
        if isa in compiled:
            wide = [n for n, ins in functions.items() if f"simdoptim::{isa}::" in n and violations(ins)]
            assert wide, f"no {isa} code found in {path}"
            assert any(register in line for n in wide for _, line in functions[n]), isa


def test_baseline_path_is_always_available():
    info = simdoptim.cpu_info()
    assert info["isas"][0] == "baseline" and "baseline" in info["compiled_isas"]
    assert info["isa"] in info["isas"]


QEMU = shutil.which("qemu-x86_64")
EMULATED = textwrap.dedent("""
    import numpy as np
    import simdoptim
    from simdoptim import reference

    info = simdoptim.cpu_info()
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        p = [rng.standard_normal(n).astype(dtype) for n in (1, 3, 37)]
        g = [rng.standard_normal(a.shape).astype(dtype) for a in p]
        q = [a.copy() for a in p]
        fast, ref = simdoptim.Adam(p, lr=0.01, amsgrad=True), reference.Adam(q, lr=0.01, amsgrad=True)
        for _ in range(3):
            fast.step(g)
            ref.step(g)
        assert all(a.tobytes() == b.tobytes() for a, b in zip(p, q))
    print("RESULT", info["isa"], ",".join(info["isas"]), info["cpu_features"]["avx2"])
""")


@pytest.mark.skipif(QEMU is None, reason="qemu-x86_64 not installed (Debian: apt-get install qemu-user)")
@pytest.mark.skipif("libasan" in os.environ.get("LD_PRELOAD", ""),
                    reason="sanitizer run (tools/sanitize.sh): ASan's shadow memory does not work under qemu-user")
def test_runs_on_a_pre_avx_cpu_under_qemu():
    env = {k: v for k, v in os.environ.items() if k != "SIMDOPTIM_ISA"}
    env["OMP_NUM_THREADS"] = "1"
    # NumPy's bundled OpenBLAS misdetects qemu's Nehalem and runs an AVX kernel at import;
    # naming the core type avoids that (it is not about simdoptim, which detects on its own)
    env["OPENBLAS_CORETYPE"] = "NEHALEM"
    proc = subprocess.run([QEMU, "-cpu", "Nehalem", sys.executable, "-c", EMULATED], capture_output=True, text=True,
                          timeout=240, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    result = [ln.split()[1:] for ln in proc.stdout.splitlines() if ln.startswith("RESULT")]
    assert result == [["baseline", "baseline", "False"]], proc.stdout
