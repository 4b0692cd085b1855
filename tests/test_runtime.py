"""Run-time dispatch, threads and introspection."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import simdoptim


def _python(code, **env):
    full = dict(os.environ)
    full.pop("SIMDOPTIM_ISA", None)
    full.update(env)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full, timeout=120)
    # keep only what the snippet printed after its marker (an editable development install may
    # print its rebuild log on import)
    r.out = r.stdout.split("<<out>>")[-1].split()
    return r


def test_cpu_info_fields():
    info = simdoptim.cpu_info()
    assert info["isa"] in ("baseline", "avx2", "avx512")
    assert info["isas"][0] == "baseline" and info["isa"] in info["isas"]
    assert set(info["isas"]) <= set(info["compiled_isas"])
    assert info["threading"] == "simdoptim pool" and info["num_threads"] >= 1
    assert all(isinstance(v, bool) for v in info["cpu_features"].values())


def test_widest_path_is_chosen_by_default():
    r = _python("import simdoptim; i = simdoptim.cpu_info(); print('<<out>>', i['isa'], i['isas'][-1])")
    assert r.returncode == 0, r.stderr
    chosen, widest = r.out
    assert chosen == widest
    feats = simdoptim.cpu_info()["cpu_features"]
    if all(feats[f] for f in ("avx512f", "avx512bw", "avx512dq", "avx512vl")):
        assert chosen == "avx512"


@pytest.mark.parametrize("isa", simdoptim.cpu_info()["isas"])
def test_env_var_forces_path_and_results_stay_exact(isa):
    code = (
        "import numpy as np, simdoptim\n"
        "from simdoptim import reference\n"
        "print('<<out>>', simdoptim.cpu_info()['isa'])\n"
        "rng = np.random.default_rng(0)\n"
        "w = rng.standard_normal(1001).astype(np.float32); r = w.copy()\n"
        "a, b = simdoptim.Adam([w], lr=0.01, amsgrad=True), reference.Adam([r], lr=0.01, amsgrad=True)\n"
        "for _ in range(50):\n"
        "    g = rng.standard_normal(1001).astype(np.float32); a.step([g]); b.step([g])\n"
        "print(bool(np.array_equal(w, r)))\n"
    )
    r = _python(code, SIMDOPTIM_ISA=isa)
    assert r.returncode == 0, r.stderr
    assert r.out == [isa, "True"]


def test_env_var_unknown_path_is_a_clear_error():
    r = _python("import simdoptim", SIMDOPTIM_ISA="sse9")
    assert r.returncode != 0
    assert "ImportError" in r.stderr and "SIMDOPTIM_ISA='sse9'" in r.stderr and "expected one of" in r.stderr


def test_env_var_path_the_cpu_lacks_is_a_clear_error():
    missing = [i for i in simdoptim.cpu_info()["compiled_isas"] if i not in simdoptim.cpu_info()["isas"]]
    if not missing:
        # every compiled path runs here; check the same refusal through the in-process switch
        # by asking for a path that is not compiled at all
        with pytest.raises(ValueError, match="not a known path"):
            simdoptim._core._select_isa("neon")
        return
    r = _python("import simdoptim", SIMDOPTIM_ISA=missing[0])
    assert r.returncode != 0 and "this CPU cannot run" in r.stderr


def test_set_num_threads_validates_and_round_trips():
    before = simdoptim.get_num_threads()
    try:
        simdoptim.set_num_threads(1)
        assert simdoptim.get_num_threads() == 1 == simdoptim.cpu_info()["num_threads"]
        simdoptim.set_num_threads(3)
        assert simdoptim.get_num_threads() == 3
        with pytest.raises(ValueError, match="n must be an int between 1 and 4096"):
            simdoptim.set_num_threads(0)
        with pytest.raises(TypeError, match="n must be an int"):
            simdoptim.set_num_threads(2.0)
        assert simdoptim.get_num_threads() == 3
    finally:
        simdoptim.set_num_threads(before)


def test_omp_num_threads_sets_the_default():
    code = "import simdoptim; print('<<out>>', simdoptim.get_num_threads())"
    r = _python(code, OMP_NUM_THREADS="1")
    assert r.returncode == 0 and r.out == ["1"]
    r = _python(code, OMP_NUM_THREADS="3")
    assert r.returncode == 0 and r.out == ["3"]
    r = _python(code, OMP_NUM_THREADS="2,1")  # OpenMP's nested list: the first level counts
    assert r.returncode == 0 and r.out == ["2"]


def test_info_command():
    r = subprocess.run([sys.executable, "-m", "simdoptim", "info"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert simdoptim.cpu_info()["isa"] in r.stdout and "num_threads" in r.stdout


def test_all_finite():
    a = np.ones(1000, np.float32)
    b = np.zeros((3, 4))
    assert simdoptim.all_finite([a, b])
    for bad in (np.nan, np.inf, -np.inf):
        for pos in (0, 999, 513):
            c = a.copy()
            c[pos] = bad
            assert not simdoptim.all_finite([b, c])
    assert simdoptim.all_finite([])


# ---- who chooses the thread count ------------------------------------------------------

def _threads_in_child(code, **env):
    """Runs ``code`` in a fresh interpreter with ``env`` on top of a clean environment (no
    thread variables) and returns its exit status, stdout's last line (a list) and stderr."""
    base = {k: v for k, v in os.environ.items()
            if k not in ("OMP_NUM_THREADS", "SIMDOPTIM_NUM_THREADS", "LOCAL_WORLD_SIZE")}
    out = subprocess.run([sys.executable, "-c", code], env={**base, **env}, capture_output=True, text=True,
                         timeout=120)
    return out.returncode, out.stdout.strip().splitlines()[-1:] or [""], out.stderr


def test_simdoptim_num_threads_is_read_at_import_and_beats_omp_num_threads():
    rc, out, err = _threads_in_child("import simdoptim; print(simdoptim.get_num_threads())",
                                     SIMDOPTIM_NUM_THREADS="3", OMP_NUM_THREADS="1")
    assert rc == 0, err
    assert out == ["3"]
    rc, out, err = _threads_in_child("import simdoptim; print(simdoptim.get_num_threads())", OMP_NUM_THREADS="5")
    assert rc == 0, err
    assert out == ["5"]


@pytest.mark.parametrize("value", ["0", "two", "-1", "5000"])
def test_bad_simdoptim_num_threads_names_the_variable(value):
    rc, _, err = _threads_in_child("import simdoptim", SIMDOPTIM_NUM_THREADS=value)
    assert rc != 0
    assert "ValueError: SIMDOPTIM_NUM_THREADS must be an int between 1 and 4096" in err
