"""Loading ahead-of-time compiled artefacts (``lowbit compile`` /
``Module.compile_artefact``) through their C ABI (lowbit_artefact.h).

Only ctypes and numpy are used: loading compiles nothing and needs neither
LLVM nor the native lowbit module.

    session = lowbit.load("out/minilm.so")
    outputs = session.run({"input_ids": ids, "attention_mask": mask})
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
import struct
from typing import Mapping

import numpy as np

ABI_VERSION = 1

_DTYPES = {"f4": np.float32, "f8": np.float64, "f2": np.float16, "i8": np.int64,
           "i4": np.int32, "i2": np.int16, "i1": np.int8, "u1": np.uint8,
           "u2": np.uint16, "b1": np.bool_}


class _TensorInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_char_p),
                ("rank", ctypes.c_int32), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("bytes", ctypes.c_int64)]


class _Tensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("rank", ctypes.c_int32),
                ("shape", ctypes.POINTER(ctypes.c_int64))]


class ArtefactError(RuntimeError):
    """A file that is not a loadable artefact, or a run with wrong inputs."""


_ELF_MACHINES = {"x86_64": 62, "aarch64": 183}


def _check_elf(path: str) -> None:
    """Refuses what dlopen would crash on or misreport: not a 64-bit
    little-endian shared library for this machine, or a truncated one (its
    segments would be mapped past the end of the file: SIGBUS)."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        header = f.read(64)
        ok = (len(header) == 64 and header[:4] == b"\x7fELF" and header[4] == 2
              and header[5] == 1)
        if ok:
            (e_type, e_machine, _, _, e_phoff, e_shoff, _, _, e_phentsize, e_phnum,
             e_shentsize, e_shnum, _) = struct.unpack_from("<HHIQQQIHHHHHH", header, 16)
            want = _ELF_MACHINES.get(platform.machine())
            ok = e_type == 3 and e_phentsize == 56 and (want is None or e_machine == want)
        if not ok:
            raise ArtefactError(f"cannot load artefact '{path}': not a shared library for this "
                                "machine (not built by `lowbit compile`?)")
        complete = e_phoff + e_phnum * 56 <= size and e_shoff + e_shnum * e_shentsize <= size
        for i in range(e_phnum if complete else 0):
            f.seek(e_phoff + i * 56)
            p_type, _, p_offset, _, _, p_filesz = struct.unpack("<IIQQQQ", f.read(40))
            if p_type == 1 and p_offset + p_filesz > size:
                complete = False
        if not complete:
            raise ArtefactError(f"cannot load artefact '{path}': the file is truncated "
                                f"({size} bytes; its segments need more)")


def _numpy_dtype(code: str):
    if code == "bf16":
        import ml_dtypes  # bfloat16 travels as ml_dtypes' type
        return ml_dtypes.bfloat16
    return _DTYPES[code]


class Session:
    """A loaded artefact. `inputs` / `outputs` list {'name', 'dtype', 'shape'}
    as the artefact declares them; `manifest` is its JSON manifest."""

    def __init__(self, path):
        path = os.fspath(path)
        if not os.path.exists(path):
            raise ArtefactError(f"artefact '{path}' does not exist")
        _check_elf(path)
        try:
            lib = ctypes.CDLL(os.path.abspath(path), mode=os.RTLD_LOCAL | os.RTLD_NOW)
        except OSError as e:
            raise ArtefactError(f"cannot load artefact '{path}': {e} (not a shared library "
                                "built by `lowbit compile`, or truncated?)") from None
        try:
            version = lib.lowbit_abi_version
        except AttributeError:
            raise ArtefactError(f"'{path}' is not a lowbit artefact (it exports no "
                                "lowbit_abi_version)") from None
        version.restype = ctypes.c_uint32
        if version() != ABI_VERSION:
            raise ArtefactError(f"'{path}' has artefact ABI version {version()}, this lowbit "
                                f"reads version {ABI_VERSION}; compile the model again")
        lib.lowbit_manifest.restype = ctypes.c_char_p
        for fn in (lib.lowbit_input_info, lib.lowbit_output_info):
            fn.restype = ctypes.POINTER(_TensorInfo)
            fn.argtypes = [ctypes.c_int32]
        lib.lowbit_session_create.restype = ctypes.c_void_p
        lib.lowbit_session_run.restype = ctypes.c_int32
        lib.lowbit_session_run.argtypes = [ctypes.c_void_p, ctypes.POINTER(_Tensor), ctypes.c_int32,
                                           ctypes.POINTER(_Tensor), ctypes.c_int32]
        lib.lowbit_session_destroy.argtypes = [ctypes.c_void_p]
        lib.lowbit_last_error.restype = ctypes.c_char_p
        self._lib = lib
        self.path = path
        self.manifest = json.loads(lib.lowbit_manifest().decode())
        # The declarations (the library's own shape arrays among them) are
        # read once; every run passes them back after checking the arrays.
        self._in_infos = [lib.lowbit_input_info(i).contents for i in range(lib.lowbit_num_inputs())]
        self._out_infos = [lib.lowbit_output_info(i).contents for i in range(lib.lowbit_num_outputs())]
        self.inputs = [self._info(i) for i in self._in_infos]
        self.outputs = [self._info(i) for i in self._out_infos]
        self._in_dtypes = [np.dtype(_numpy_dtype(s["dtype"])) for s in self.inputs]
        self._out_dtypes = [np.dtype(_numpy_dtype(s["dtype"])) for s in self.outputs]
        self._session = lib.lowbit_session_create()
        if not self._session:
            raise ArtefactError(f"'{path}': {lib.lowbit_last_error().decode()}")

    @staticmethod
    def _info(info: _TensorInfo) -> dict:
        return {"name": info.name.decode(), "dtype": info.dtype.decode(),
                "shape": [info.shape[d] for d in range(info.rank)]}

    def run(self, feeds) -> dict[str, np.ndarray]:
        """Runs once. `feeds` maps input names to arrays (or lists them in
        order); dtype and shape must be the declared ones. Returns a dict of
        output name -> array."""
        if not isinstance(feeds, Mapping):
            feeds = list(feeds)
            if len(feeds) != len(self.inputs):
                raise ArtefactError(f"the artefact takes {len(self.inputs)} input(s), got {len(feeds)}")
            feeds = {spec["name"]: a for spec, a in zip(self.inputs, feeds)}
        unknown = set(feeds) - {s["name"] for s in self.inputs}
        if unknown:
            raise ArtefactError(f"unknown input(s) {sorted(unknown)}; the artefact takes "
                                f"{[s['name'] for s in self.inputs]}")
        arrays = []
        for spec, want in zip(self.inputs, self._in_dtypes):
            if spec["name"] not in feeds:
                raise ArtefactError(f"input '{spec['name']}' is missing")
            a = np.asarray(feeds[spec["name"]])
            if a.dtype != want or list(a.shape) != spec["shape"]:
                raise ArtefactError(f"input '{spec['name']}' expects {want} {spec['shape']}, "
                                    f"got {a.dtype} {list(a.shape)}")
            arrays.append(np.asarray(a, order="C"))  # keeps 0-d (ascontiguousarray makes 1-d)
        outputs = [np.empty(s["shape"], dt) for s, dt in zip(self.outputs, self._out_dtypes)]

        def tensors(items, infos):
            # The arrays have the declared shapes (checked above or made so).
            ts = (_Tensor * max(len(items), 1))()
            for i, (a, info) in enumerate(zip(items, infos)):
                ts[i] = _Tensor(a.ctypes.data, info.rank, info.shape)
            return ts

        rc = self._lib.lowbit_session_run(self._session, tensors(arrays, self._in_infos), len(arrays),
                                          tensors(outputs, self._out_infos), len(outputs))
        if rc != 0:
            raise ArtefactError(self._lib.lowbit_last_error().decode())
        return {s["name"]: o for s, o in zip(self.outputs, outputs)}

    def close(self) -> None:
        if getattr(self, "_session", None):
            self._lib.lowbit_session_destroy(self._session)
            self._session = None

    def __del__(self):
        self.close()


def load(path) -> Session:
    """Loads the artefact NAME.so (or NAME, or NAME.json beside it)."""
    path = os.fspath(path)
    if path.endswith(".json"):
        path = path[: -len(".json")] + ".so"
    elif not path.endswith(".so") and not os.path.exists(path):
        path += ".so"
    return Session(path)
