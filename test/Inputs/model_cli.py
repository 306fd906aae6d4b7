"""The command line shared by the test model builders in test/Inputs:
`NAME -o OUT.onnx` writes one model, `--list` names them."""

from __future__ import annotations

import argparse

import onnx


def run(models: dict, description: str, argv=None) -> int:
    """`models` maps a name to a function returning an onnx.ModelProto. The
    models are saved as built, without the checker: some are deliberately
    invalid (an opset onnx does not define, a bad attribute)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("name", nargs="?")
    p.add_argument("-o", "--output")
    p.add_argument("--list", action="store_true")
    args = p.parse_args(argv)
    if args.list:
        print("\n".join(models))
        return 0
    if args.name not in models or not args.output:
        p.error("give a model name from --list and -o OUT.onnx")
    onnx.save(models[args.name](), args.output)
    return 0
