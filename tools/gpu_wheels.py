"""`make gpu-wheels`: the wheelhouse the GPU check carries to a GPU machine without network (.gpu-wheels/).

Downloads constraints/gpu-wheels.txt for CPython 3.12 on manylinux x86_64 (--no-deps: the list is the whole
set), builds a wheel here for a pure-Python package that PyPI has only as a source archive, packs ray as its
files less RAY_CLUSTER_ONLY (ray-<version>-import-only.tar.xz), and fails when the wheelhouse and the working
tree together are over what one device call carries (64 MiB). docs/testing.md "GPU check" says how it is used.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
             "manylinux1_x86_64")
PYTHON_VERSION = "3.12"
LIMIT_BYTES = 64 * 2**20
# what only a running Ray cluster uses: importing ray needs none of it
RAY_CLUSTER_ONLY = ("ray/core/src/ray/raylet/", "ray/core/src/ray/gcs/", "ray/jars/", "ray/dashboard/client/build/")


def requirements(path: Path) -> list[str]:
    return [line.split("#")[0].strip() for line in path.read_text().splitlines() if line.split("#")[0].strip()]


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args], check=True)


def download(reqs: list[str], dest: Path) -> None:
    platform_args = [arg for p in PLATFORMS for arg in ("--platform", p)]
    binary = ["download", "--quiet", "--no-deps", "--only-binary=:all:", "--python-version", PYTHON_VERSION,
              "--implementation", "cp", *platform_args, "-d", str(dest)]
    for req in reqs:
        try:
            pip(*binary, req)
        except subprocess.CalledProcessError:
            print(f"gpu-wheels: no wheel of {req} on the index; building one here", flush=True)
            # no wheel on the index (e.g. antlr4-python3-runtime 4.9.3): build one here; it must be pure Python
            pip("wheel", "--quiet", "--no-deps", "-w", str(dest), req)
            name = req.split("==")[0].replace("-", "_").lower()
            built = [w for w in dest.glob("*.whl") if w.name.lower().startswith(name)]
            if not built or not built[0].name.endswith("-py3-none-any.whl") and "-py2.py3-none-any" not in built[0].name:
                raise SystemExit(f"gpu-wheels: {req} has no wheel for Python {PYTHON_VERSION} and is not pure Python"
                                 ) from None


def pack_ray(wheel: Path, dest: Path) -> Path:
    """ray's wheel unpacked, less RAY_CLUSTER_ONLY, as a tar.xz to extract into the target site folder."""
    version = wheel.name.split("-")[1]
    out = dest / f"ray-{version}-import-only.tar.xz"
    with zipfile.ZipFile(wheel) as zf, tempfile.TemporaryDirectory() as tmp:
        members = [m for m in zf.namelist() if not m.startswith(RAY_CLUSTER_ONLY)]
        zf.extractall(tmp, members)
        with tarfile.open(out.with_suffix(".part"), "w:xz", preset=6) as tar:
            for item in sorted(Path(tmp).iterdir()):
                tar.add(item, arcname=item.name)
    out.with_suffix(".part").replace(out)
    wheel.unlink()
    return out


def tree_bytes() -> int:
    files = subprocess.run(["git", "-C", str(REPO), "ls-files", "-co", "--exclude-standard"], capture_output=True,
                           text=True, check=True).stdout.split()
    return sum((REPO / f).stat().st_size for f in files if (REPO / f).is_file())


def main(dest: Path) -> None:
    reqs = requirements(REPO / "constraints" / "gpu-wheels.txt")
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    download(reqs, tmp)
    ray = [w for w in tmp.glob("ray-*.whl")]
    if ray:
        pack_ray(ray[0], tmp)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.replace(dest)
    files = sorted(dest.iterdir())
    total, tree = sum(f.stat().st_size for f in files), tree_bytes()
    for f in files:
        print(f"{f.stat().st_size / 2**20:8.2f} MiB  {f.name}")
    print(f"{total / 2**20:8.2f} MiB  wheelhouse ({len(files)} files), {tree / 2**20:.2f} MiB working tree: "
          f"{(total + tree) / 2**20:.2f} of {LIMIT_BYTES / 2**20:.0f} MiB a device call carries")
    if total + tree > LIMIT_BYTES:
        raise SystemExit("gpu-wheels: over the limit; drop a package from constraints/gpu-wheels.txt or trim it")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dest", type=Path, default=REPO / ".gpu-wheels")
    main(parser.parse_args().dest)
