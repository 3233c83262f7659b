"""scripts/build_llama_server.sh as a user meets it: the packed llama.cpp tree (what carries the
source to a GPU box) holds the CPU and CUDA backends and nothing the build does not read, and
cmake configures it; a CUDA build with no toolkit, a bad option or a tarball that is not a packed
tree stops at once with the reason. No full build here (10-25 min on 2 cores)."""

import hashlib
import importlib.util
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path, PurePosixPath
from types import ModuleType

import pytest

from tests.llama import CACHE
from tests.prerequisites import installed, require

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "build_llama_server.sh"
SDIST = CACHE / "build-llama-0.3.36" / "llama_cpp_python-0.3.36.tar.gz"


def builder() -> ModuleType:
    """The script's module, for its trimming rule, flags and unpacking."""
    spec = importlib.util.spec_from_file_location("build_llama_server", SCRIPT.with_suffix(".py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(
    *args: str, path: str | None = None, cache: Path | None = None, **variables: str
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PATH=path or os.environ["PATH"], **variables)
    if cache is not None:
        env["ARENA_CACHE"] = str(cache)
    return subprocess.run(
        ["/bin/bash", str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=300
    )


def bare_path(folder: Path) -> str:
    """A PATH holding python3 and nothing else (no nvcc, no nvidia-smi)."""
    folder.mkdir()
    (folder / "python3").symlink_to(sys.executable)
    return str(folder)


@pytest.fixture(scope="module")
def packed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require(SDIST.is_file(), f"the llama-cpp-python sdist ({SDIST}; scripts/build_llama_server.sh)")
    out = tmp_path_factory.mktemp("packed") / "llama.cpp.tar.gz"
    done = run("--pack-source", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == str(out)
    return out


def test_the_packed_tree_holds_the_cpu_and_cuda_backends_only(packed: Path) -> None:
    assert packed.stat().st_size < 16 * 1024 * 1024
    with tarfile.open(packed) as tar:
        names = [PurePosixPath(name) for name in tar.getnames()]
    assert {name.parts[0] for name in names} == {"llama.cpp"}
    paths = {str(PurePosixPath(*name.parts[1:])) for name in names}
    for needed in (
        "CMakeLists.txt",
        "ggml/src/ggml-cpu",
        "ggml/src/ggml-cuda",
        "ggml/src/ggml-cuda/CMakeLists.txt",
        "tools/server",
        "app",
        "scripts/ui-assets.cmake",
        "gguf-py",
        "src/models",  # the model graphs, not the dropped top-level models/
    ):
        assert [path for path in paths if path == needed or path.startswith(f"{needed}/")], needed
    dropped = ("ggml/src/ggml-metal", "ggml/src/ggml-vulkan", "docs/", "tests/", "examples/")
    assert not [path for path in paths if path.startswith(dropped)]


def test_packing_twice_gives_the_same_bytes(packed: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.tar.gz"
    assert run("--pack-source", str(again)).returncode == 0
    assert again.read_bytes() == packed.read_bytes()


def test_cmake_configures_the_packed_tree(packed: Path, tmp_path: Path) -> None:
    require(installed("cmake"), "cmake")
    module = builder()
    source = module.unpack(packed, tmp_path, cuda=True)
    configure = ["cmake", "-S", str(source), "-B", str(tmp_path / "build"), *module.FLAGS]
    done = subprocess.run(configure, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Build files have been written" in done.stdout


def test_a_tarball_that_is_not_a_packed_tree_builds_nothing(tmp_path: Path) -> None:
    other = tmp_path / "other.tar.gz"
    with tarfile.open(other, "w:gz") as tar:
        tar.addfile(tarfile.TarInfo("llama.cpp/README.md"), io.BytesIO(b""))
    escaping = tmp_path / "escaping.tar.gz"
    with tarfile.open(escaping, "w:gz") as tar:
        tar.addfile(tarfile.TarInfo("../outside.txt"), io.BytesIO(b""))
    linked = tmp_path / "linked.tar.gz"
    with tarfile.open(linked, "w:gz") as tar:
        link = tarfile.TarInfo("llama.cpp/CMakeLists.txt")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    (tmp_path / "not.tar.gz").write_text("not a tarball")
    cache = tmp_path / "cache"
    for tarball, reason in (
        (other, "is not a tree --pack-source wrote: no llama.cpp/CMakeLists.txt"),
        (escaping, "../outside.txt leaves the folder"),
        (linked, "llama.cpp/CMakeLists.txt is neither a file nor a folder"),
        (tmp_path / "not.tar.gz", "cannot extract"),
        (tmp_path / "absent.tar.gz", "cannot extract"),
    ):
        done = run("--source", str(tarball), cache=cache)
        assert done.returncode == 1 and reason in done.stderr, (tarball, done.stderr)
    assert not (tmp_path / "outside.txt").exists()
    assert not list(cache.glob("llama-server-*"))


def test_no_sdist_and_no_download_points_to_a_packed_source(tmp_path: Path) -> None:
    done = run("--pack-source", str(tmp_path / "out.tar.gz"), cache=tmp_path, PIP="false")
    assert done.returncode == 1
    assert "pip could not download llama-cpp-python==0.3.36" in done.stderr
    assert "--source" in done.stderr and not (tmp_path / "out.tar.gz").exists()


def test_cuda_without_nvcc_says_what_to_install(tmp_path: Path) -> None:
    done = run("--cuda", "--cuda-arch", "90", path=bare_path(tmp_path / "bin"), cache=tmp_path)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines() == [
        "build_llama_server: --cuda needs nvcc on PATH: install the CUDA toolkit (NVIDIA's "
        "cuda-toolkit package, or Debian's nvidia-cuda-toolkit) and put its bin/ on PATH"
    ]
    assert done.stdout == ""


def test_cuda_with_no_architecture_and_no_nvidia_smi_asks_for_one(tmp_path: Path) -> None:
    path = bare_path(tmp_path / "bin")
    nvcc = tmp_path / "bin" / "nvcc"  # a toolkit present; what is missing is the GPU to ask
    nvcc.write_text("#!/bin/sh\necho 'Cuda compilation tools, release 13.0, V13.0.88'\n")
    nvcc.chmod(0o755)
    done = run("--cuda", path=path, cache=tmp_path)
    assert done.returncode == 1
    assert "no --cuda-arch and no nvidia-smi to ask: pass --cuda-arch, e.g. 90" in done.stderr


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--jobs", "0"], "--jobs must be 1 to 1024"),
        (["--jobs", "many"], "invalid int value"),
        (["--cuda-arch", "90"], "--cuda-arch needs --cuda"),
        (["--cuda", "--cuda-arch", "90;sm_80"], "'sm_80' is not an architecture"),
        (["--cuda", "--cuda-arch", "90; rm -rf /"], "is not an architecture"),
        (["--pack-source", "x.tar.gz", "--cuda"], "--pack-source only packs"),
    ],
)
def test_a_bad_option_shows_the_usage_and_exits_2(
    args: list[str], reason: str, tmp_path: Path
) -> None:
    done = run(*args, cache=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("usage: build_llama_server.sh") and reason in done.stderr
    assert not list(tmp_path.iterdir())


def test_help_lists_the_options() -> None:
    done = run("--help")
    assert done.returncode == 0
    for option in ("--cuda", "--cuda-arch LIST", "--source TARBALL", "--pack-source", "--jobs N"):
        assert option in done.stdout


def test_the_trimming_rule() -> None:
    kept = builder().kept
    assert kept(PurePosixPath("ggml/src/ggml-cuda/mmq.cu"))
    assert kept(PurePosixPath("ggml/src/ggml-backend.cpp"))  # a file, not a backend folder
    assert kept(PurePosixPath("src/models/llama.cpp"))
    assert kept(PurePosixPath("tools/server/server.cpp"))
    assert not kept(PurePosixPath("ggml/src/ggml-metal/ggml-metal.m"))
    assert not kept(PurePosixPath("models/ggml-vocab-llama-bpe.gguf"))
    assert not kept(PurePosixPath("docs/build.md"))


def test_the_recorded_version_is_what_the_binary_prints_with_the_agents_path() -> None:
    built = sorted(CACHE.glob("llama-server-[0-9]*/bin/llama-server"))
    require(bool(built), "a built llama-server (scripts/build_llama_server.sh)")
    recorded = builder().version(built[-1])
    assert recorded is not None and recorded.startswith("version: ")


def test_the_version_is_asked_with_the_engines_path_only(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    module = builder()
    shows_env = tmp_path / "llama-server"
    shows_env.write_text('#!/bin/sh\necho "version: $(env | sort | tr "\\n" " ")"\n')
    shows_env.chmod(0o755)
    recorded = module.version(shows_env)
    assert f"PATH={module.ENGINE_PATH}" in recorded and "HOME=" not in recorded
    cannot_load = tmp_path / "llama-server-cuda"
    cannot_load.write_text(
        "#!/bin/sh\necho 'error while loading shared libraries: libcublas.so.13' >&2\nexit 127\n"
    )
    cannot_load.chmod(0o755)
    assert module.version(cannot_load) is None
    assert "libcublas.so.13" in capfd.readouterr().err


STANDIN = {
    "CMakeLists.txt": "cmake_minimum_required(VERSION 3.14)\nproject(standin C)\n"
    "set(CMAKE_RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)\n"
    "add_executable(llama-server tools/server/server.c)\n",
    "tools/server/server.c": "#include <stdio.h>\n"
    'int main(void) { puts("version: 9 (standin)"); }\n',
    "ggml/src/ggml-cpu/README": "",
    "ggml/src/ggml-cuda/README": "",
}


def standin_tree(out: Path) -> Path:
    """A packed tree with llama.cpp's layout whose llama-server is one small C file: the
    script's build, record and cache, through a real cmake, in seconds instead of 10-25 min."""
    with tarfile.open(out, "w:gz") as tar:
        for name, text in STANDIN.items():
            info = tarfile.TarInfo(f"llama.cpp/{name}")
            info.size = len(text)
            tar.addfile(info, io.BytesIO(text.encode()))
    return out


@pytest.mark.parametrize("variant", ["cpu", "cuda"])
def test_a_build_from_source_is_recorded_and_cached(variant: str, tmp_path: Path) -> None:
    require(installed("cmake") and installed("cc"), "cmake and a C compiler")
    tree = standin_tree(tmp_path / "standin.tar.gz")
    cache = tmp_path / "cache"
    tools = tmp_path / "bin"  # a CUDA toolkit's nvcc, as far as the script asks it
    tools.mkdir()
    (tools / "nvcc").write_text(
        "#!/bin/sh\necho 'Cuda compilation tools, release 13.0, V13.0.88'\n"
    )
    (tools / "nvcc").chmod(0o755)
    cuda = ["--cuda", "--cuda-arch", "80,90"] if variant == "cuda" else []
    path = f"{tools}:{os.environ['PATH']}"
    done = run("--source", str(tree), "--jobs", "1", *cuda, path=path, cache=cache)
    assert done.returncode == 0, done.stderr[-3000:]
    binary = Path(done.stdout.splitlines()[-1])
    folder = "llama-server-cuda80_90-0.3.36" if cuda else "llama-server-0.3.36"
    assert binary == cache / folder / "bin" / "llama-server"
    record = json.loads((cache / folder / "build.json").read_text())
    assert record["llama_cpp_version"] == "version: 9 (standin)"
    assert record["source"] == str(tree)
    assert record["source_sha256"] == hashlib.sha256(tree.read_bytes()).hexdigest()
    assert record["variant"] == variant and record["jobs"] == 1 and record["build_seconds"] > 0
    assert "-DGGML_NATIVE=OFF" in record["cmake_flags"]
    if cuda:
        assert record["cuda_architectures"] == "80;90"
        assert record["nvcc"] == "Cuda compilation tools, release 13.0, V13.0.88"
        assert {"-DGGML_CUDA=ON", "-DCMAKE_CUDA_ARCHITECTURES=80;90"} <= set(record["cmake_flags"])
    else:
        assert record["cuda_architectures"] is None and record["nvcc"] is None
        assert "-DGGML_CUDA=ON" not in record["cmake_flags"]
    assert not list((cache / "build-llama-0.3.36").iterdir())  # the scratch folder went
    again = run("--source", str(tmp_path / "gone.tar.gz"), *cuda, path=path, cache=cache)
    assert again.returncode == 0 and again.stdout == f"{binary}\n"  # cached: no source read
