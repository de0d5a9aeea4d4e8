"""The wheel and the sdist hold the product only: no test data, above all no GPL recordings."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.helpers.data import REPO, SNMPREC_DIR


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], list[str]]:
    """Member names of the sdist and of the wheel built from it, as a release would build."""
    # From a copy of the files git knows (tracked or new, not ignored): a clean checkout.
    tmp = tmp_path_factory.mktemp("dist")
    src = tmp / "src"
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True, check=True, timeout=60,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        if (REPO / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, src / name)
    assert (src / "tests/data/snmprec/routeros.snmprec").exists()  # the input has them
    out = tmp / "out"
    # `python -m build`: the sdist first, then the wheel from the unpacked sdist.
    done = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(src)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # setuptools' own warnings about our configuration (license form, data folders) stay fixed.
    for warning in ("is deprecated", "absent from the `packages` configuration"):
        assert warning not in done.stdout + done.stderr, warning
    (sdist,) = out.glob("netwatch-*.tar.gz")
    (wheel,) = out.glob("netwatch-*.whl")
    with tarfile.open(sdist) as tar:
        sdist_names = [m.name.split("/", 1)[1] for m in tar.getmembers() if "/" in m.name]
    with zipfile.ZipFile(wheel) as whl:
        wheel_names = whl.namelist()
    return sdist_names, wheel_names


def test_no_recording_in_the_sdist(dists: tuple[list[str], list[str]]) -> None:
    sdist, _ = dists
    assert not [n for n in sdist if n.endswith(".snmprec") or n.startswith("tests/")]
    assert "NOTICE" in sdist and "LICENSE" in sdist
    assert "configs/banyuwangi.yaml" in sdist  # the product is there


def test_no_recording_in_the_wheel(dists: tuple[list[str], list[str]]) -> None:
    _, wheel = dists
    recordings = {p.name for p in SNMPREC_DIR.glob("*.snmprec")}
    assert len(recordings) == 19
    assert not [n for n in wheel if n.endswith(".snmprec") or Path(n).name in recordings]
    assert not [n for n in wheel if n.startswith(("tests/", "bench/"))]
    assert "netwatch/configs/banyuwangi.yaml" in wheel
    assert any(n.endswith("dist-info/licenses/NOTICE") for n in wheel)
