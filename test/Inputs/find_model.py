"""Links the PP-OCRv4 text-detection model shipped with rapidocr_onnxruntime
to the given path, so lit RUN lines (which have no command substitution) can
name it:  find_model.py OUT.onnx"""

import os
import sys

try:
    import rapidocr_onnxruntime
except ImportError:
    sys.exit("find_model.py: rapidocr_onnxruntime is not installed "
             "(pip install rapidocr_onnxruntime)")

MODEL = os.path.join(os.path.dirname(rapidocr_onnxruntime.__file__), "models",
                     "ch_PP-OCRv4_det_infer.onnx")

if len(sys.argv) != 2:
    sys.exit("usage: find_model.py OUT.onnx")
if not os.path.isfile(MODEL):
    sys.exit(f"find_model.py: {MODEL} does not exist")
out = sys.argv[1]
if os.path.lexists(out):
    os.remove(out)
os.symlink(MODEL, out)
