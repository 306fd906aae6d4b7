#!/usr/bin/env bash
# Checks issue 8's promise end to end, as a new user would: `pip install .`
# from a fresh clone into a fresh venv (nothing but numpy besides lowbit),
# then import lowbit, run a small ONNX model and compare with onnxruntime
# (computed outside the venv). A full release build of the extension: about
# 20 minutes on 2 cores, so it is not part of scripts/test.sh.
#
#   bash scripts/check_pip_install.sh [WORKDIR]
# (a WORKDIR whose venv already has lowbit is reused: only the check runs)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:-$(mktemp -d)}"
mkdir -p "$work"
echo "check_pip_install: working in $work"

if [[ -x "$work/venv/bin/python" ]] && "$work/venv/bin/python" -c "import lowbit" 2>/dev/null; then
  echo "check_pip_install: reusing the lowbit already installed in $work/venv"
else
  git clone -q "$repo_root" "$work/src"
  python3 -m venv "$work/venv"
  # The lock applies to the venv and to pip's isolated build environment
  # (scikit-build-core, nanobind) alike.
  PIP_CONSTRAINT="$repo_root/python/constraints.txt" "$work/venv/bin/pip" install -q "$work/src"
fi

# The model and its reference come from the system python (onnx,
# onnxruntime); the venv only has lowbit and numpy.
python3 - "$work" <<'PY'
import sys
import numpy as np, onnx, onnxruntime as ort
from onnx import TensorProto as T, helper as h, numpy_helper as nh
work = sys.argv[1]
rng = np.random.default_rng(0)
w = rng.standard_normal((8, 4, 3, 3)).astype(np.float32)
g = h.make_graph([h.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
                  h.make_node("Relu", ["c"], ["y"])], "g",
                 [h.make_tensor_value_info("x", T.FLOAT, [1, 4, 8, 8])],
                 [h.make_tensor_value_info("y", T.FLOAT, [1, 8, 8, 8])], [nh.from_array(w, "w")])
onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 17)], ir_version=8), f"{work}/model.onnx")
x = rng.standard_normal((1, 4, 8, 8)).astype(np.float32)
y = ort.InferenceSession(f"{work}/model.onnx").run(None, {"x": x})[0]
np.savez(f"{work}/io.npz", x=x, y=y)
PY

cd "$work"
"$work/venv/bin/python" - "$work" <<'PY'
import sys
import numpy as np
import lowbit
work = sys.argv[1]
io = np.load(f"{work}/io.npz")
out = lowbit.import_onnx(f"{work}/model.onnx").run({"x": io["x"]})
err = float(np.abs(out["y"] - io["y"]).max() / np.abs(io["y"]).max())
print(f"check_pip_install: lowbit from {lowbit.__file__}")
print(f"check_pip_install: max relative error vs onnxruntime {err:.3g}")
sys.exit(0 if err <= 1e-5 else 1)
PY
echo "check_pip_install: PASS"
