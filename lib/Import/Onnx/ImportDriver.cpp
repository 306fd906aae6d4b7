//===- ImportDriver.cpp - handler table and graph walk --------------------===//
//
// Part of the ONNX importer (lib/Import/Onnx/Importer.h): the table of op
// handlers, the import of one node and the walk over the graph that builds the
// function.
//
//===----------------------------------------------------------------------===//
#include "lib/Import/Onnx/Importer.h"

namespace lowbit::onnximport {

void Importer::registerMoreHandlers() {
  handlers["Cast"] = [this](const ox::Node &n) -> LogicalResult {
    auto toType = static_cast<int32_t>(attrInt(n, "to", ox::kUndefined));
    if (isTrackedIntType(toType))
      return importCast(n, builder.getIntegerType(containerWidth(toType)),
                        toType);
    FailureOr<Type> to = elementType(toType, "Cast target");
    if (failed(to))
      return failure();
    return importCast(n, *to);
  };
  handlers["CastLike"] = [this](const ox::Node &n) -> LogicalResult {
    Value like;
    if (failed(lookup(n, 1, like)))
      return failure();
    auto tracked = intTypes.find(like);
    return importCast(n, tensorType(like).getElementType(),
                      tracked != intTypes.end() ? tracked->second
                                                : int32_t(ox::kUndefined));
  };
  handlers["Shape"] = [this](const ox::Node &n) { return importShape(n); };
  handlers["Size"] = [this](const ox::Node &n) { return importShape(n); };
  handlers["Expand"] = [this](const ox::Node &n) { return importExpand(n); };
  handlers["Slice"] = [this](const ox::Node &n) { return importSlice(n); };
  handlers["Where"] = [this](const ox::Node &n) { return importWhere(n); };
  for (StringRef kind :
       {"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"})
    handlers[kind] = [this, kind](const ox::Node &n) {
      return importCompare(n, kind);
    };
  for (StringRef kind : {"And", "Or", "Xor", "Not"})
    handlers[kind] = [this, kind](const ox::Node &n) {
      return importLogical(n, kind);
    };
  handlers["Range"] = [this](const ox::Node &n) { return importRange(n); };
  for (StringRef kind :
       {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd",
        "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSum",
        "ReduceLogSumExp"})
    handlers[kind] = [this, kind](const ox::Node &n) {
      return importReduce(n, kind);
    };
  handlers["Split"] = [this](const ox::Node &n) { return importSplit(n); };
  handlers["CumSum"] = [this](const ox::Node &n) { return importCumSum(n); };
  handlers["Trilu"] = [this](const ox::Node &n) { return importTrilu(n); };
  for (StringRef kind :
       {"Sin", "Cos", "Tan", "Atan", "Sinh", "Cosh", "Floor", "Ceil", "Round",
        "Sign", "Softplus", "Softsign", "Elu", "Selu", "Gelu"})
    handlers[kind] = [this, kind](const ox::Node &n) {
      return importMathUnary(n, kind);
    };
  handlers["ConstantOfShape"] = [this](const ox::Node &n) {
    return importConstantOfShape(n);
  };
  handlers["MaxPool"] = [this](const ox::Node &n) {
    return importPool(n, true);
  };
  handlers["AveragePool"] = [this](const ox::Node &n) {
    return importPool(n, false);
  };
  handlers["Pad"] = [this](const ox::Node &n) { return importPad(n); };
  handlers["PRelu"] = [this](const ox::Node &n) { return importPRelu(n); };
  handlers["Tile"] = [this](const ox::Node &n) { return importTile(n); };
  handlers["ArgMax"] = [this](const ox::Node &n) {
    return importArgMinMax(n, true);
  };
  handlers["ArgMin"] = [this](const ox::Node &n) {
    return importArgMinMax(n, false);
  };
}

void Importer::registerHandlers() {
  for (StringRef kind : {"Add", "Sub", "Mul", "Div", "Pow"})
    handlers[kind] = [this, kind](const ox::Node &n) {
      return importElementwiseBinary(n, kind);
    };
  for (StringRef kind : {"Max", "Min", "Sum"})
    handlers[kind] = [this, kind](const ox::Node &n) -> LogicalResult {
      // Variadic: fold the inputs pairwise with broadcasting.
      Value acc;
      if (failed(lookup(n, 0, acc)))
        return failure();
      StringRef binaryKind = kind == "Sum" ? "Add" : kind;
      for (size_t i = 1; i < n.inputs.size(); ++i) {
        Value next;
        if (failed(lookup(n, i, next)))
          return failure();
        auto r = binary(binaryKind, acc, next, nodeLoc(n));
        if (failed(r))
          return failure();
        acc = *r;
      }
      define(n, 0, acc);
      return success();
    };
  auto unary = [this](StringRef kind) {
    handlers[kind] = [this, kind](const ox::Node &n) -> LogicalResult {
      Value x;
      if (failed(lookup(n, 0, x)))
        return failure();
      Location loc = nodeLoc(n);
      auto t = tensorType(x);
      Type elem = t.getElementType();
      bool isFloat = isa<FloatType>(elem);
      Value y;
      if (kind == "Relu")
        y = clamp(x, 0.0,
                  isFloat ? APFloat::getLargest(
                                cast<FloatType>(elem).getFloatSemantics())
                                .convertToDouble()
                          : std::ldexp(1.0, elem.getIntOrFloatBitWidth() - 1) -
                                1,
                  loc);
      else if (!isFloat)
        return unsupported(kind + " on " +
                           llvm::formatv("{0}", elem).str() + " tensors");
      else if (kind == "Sigmoid")
        y = tosa::SigmoidOp::create(builder, loc, t, x);
      else if (kind == "Tanh")
        y = tosa::TanhOp::create(builder, loc, t, x);
      else if (kind == "Exp")
        y = tosa::ExpOp::create(builder, loc, t, x);
      else if (kind == "Log")
        y = tosa::LogOp::create(builder, loc, t, x);
      else if (kind == "Abs")
        y = tosa::AbsOp::create(builder, loc, t, x);
      else if (kind == "Erf")
        y = tosa::ErfOp::create(builder, loc, t, x);
      else if (kind == "Reciprocal")
        y = broadcastGeneric(
            loc, t.getShape(), elem, {x},
            [&](OpBuilder &b, Location l, ValueRange a) -> Value {
              Value one = arith::ConstantOp::create(
                  b, l, b.getFloatAttr(elem, 1.0));
              return arith::DivFOp::create(b, l, one, a[0]);
            });
      else if (kind == "Neg" || kind == "Sqrt")
        y = broadcastGeneric(
            loc, t.getShape(), elem, {x},
            [&](OpBuilder &b, Location l, ValueRange a) -> Value {
              if (kind == "Neg")
                return arith::NegFOp::create(b, l, a[0]);
              return math::SqrtOp::create(b, l, a[0]);
            });
      else if (kind == "HardSigmoid") {
        double alpha = attrFloat(n, "alpha", 0.2f);
        double beta = attrFloat(n, "beta", 0.5f);
        SmallVector<int64_t> ones(t.getRank(), 1);
        y = tosa::MulOp::create(builder, loc, t, x,
                                splat(elem, ones, alpha, loc), shift(loc));
        y = tosa::AddOp::create(builder, loc, t, y,
                                splat(elem, ones, beta, loc));
        y = clamp(y, 0.0, 1.0, loc);
      } else if (kind == "HardSwish" &&
                 (elem.isF32() || elem.isF16() || elem.isBF16())) {
        // The graph op fuse-hard-swish also forms from x * relu6(x+3) / 6.
        y = nn::HardSwishOp::create(builder, loc, t, x);
      } else if (kind == "HardSwish") {
        SmallVector<int64_t> ones(t.getRank(), 1);
        Value h = tosa::MulOp::create(builder, loc, t, x,
                                      splat(elem, ones, 1.0 / 6.0, loc),
                                      shift(loc));
        h = tosa::AddOp::create(builder, loc, t, h,
                                splat(elem, ones, 0.5, loc));
        h = clamp(h, 0.0, 1.0, loc);
        y = tosa::MulOp::create(builder, loc, t, x, h, shift(loc));
      } else if (kind == "LeakyRelu") {
        double alpha = attrFloat(n, "alpha", 0.01f);
        y = broadcastGeneric(
            loc, t.getShape(), elem, {x},
            [&](OpBuilder &b, Location l, ValueRange a) -> Value {
              Value zero =
                  arith::ConstantOp::create(b, l, b.getFloatAttr(elem, 0.0));
              Value al =
                  arith::ConstantOp::create(b, l, b.getFloatAttr(elem, alpha));
              Value neg = arith::MulFOp::create(b, l, a[0], al);
              Value pos = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT,
                                                a[0], zero);
              return arith::SelectOp::create(b, l, pos, a[0], neg);
            });
      }
      define(n, 0, y);
      return success();
    };
  };
  for (StringRef kind :
       {"Relu", "Sigmoid", "Tanh", "Exp", "Log", "Abs", "Erf", "Reciprocal",
        "Neg", "Sqrt", "HardSigmoid", "HardSwish", "LeakyRelu"})
    unary(kind);
  handlers["Identity"] = [this](const ox::Node &n) -> LogicalResult {
    Value x;
    if (failed(lookup(n, 0, x)))
      return failure();
    define(n, 0, x);
    if (const ox::Tensor *t = constantOf(n, 0))
      constants[n.outputs[0]] = t;
    return success();
  };
  handlers["MatMul"] = [this](const ox::Node &n) { return importMatMul(n); };
  handlers["Gemm"] = [this](const ox::Node &n) { return importGemm(n); };
  handlers["Conv"] = [this](const ox::Node &n) { return importConv(n); };
  handlers["ConvTranspose"] = [this](const ox::Node &n) {
    return importConvTranspose(n);
  };
  handlers["BatchNormalization"] = [this](const ox::Node &n) {
    return importBatchNorm(n);
  };
  handlers["Clip"] = [this](const ox::Node &n) { return importClip(n); };
  handlers["Reshape"] = [this](const ox::Node &n) { return importReshape(n); };
  handlers["Transpose"] = [this](const ox::Node &n) {
    return importTranspose(n);
  };
  handlers["Flatten"] = [this](const ox::Node &n) { return importFlatten(n); };
  handlers["Squeeze"] = [this](const ox::Node &n) {
    return importSqueezeUnsqueeze(n, true);
  };
  handlers["Unsqueeze"] = [this](const ox::Node &n) {
    return importSqueezeUnsqueeze(n, false);
  };
  handlers["Concat"] = [this](const ox::Node &n) { return importConcat(n); };
  handlers["Softmax"] = [this](const ox::Node &n) { return importSoftmax(n); };
  handlers["LayerNormalization"] = [this](const ox::Node &n) {
    return importLayerNorm(n);
  };
  handlers["RMSNormalization"] = [this](const ox::Node &n) {
    return importRMSNorm(n);
  };
  handlers["GlobalAveragePool"] = [this](const ox::Node &n) {
    return importGlobalAveragePool(n);
  };
  handlers["GlobalMaxPool"] = [this](const ox::Node &n) {
    return importGlobalMaxPool(n);
  };
  handlers["DynamicQuantizeLinear"] = [this](const ox::Node &n) {
    return importDynamicQuantizeLinear(n);
  };
  handlers["Resize"] = [this](const ox::Node &n) { return importResize(n); };
  handlers["MatMulInteger"] = [this](const ox::Node &n) {
    return importMatMulInteger(n);
  };
  handlers["ConvInteger"] = [this](const ox::Node &n) {
    return importConvInteger(n);
  };
  handlers["QLinearConv"] = [this](const ox::Node &n) {
    return importQLinearConv(n);
  };
  handlers["QLinearMatMul"] = [this](const ox::Node &n) {
    return importQLinearMatMul(n);
  };
  handlers["QuantizeLinear"] = [this](const ox::Node &n) {
    return importQuantizeLinear(n);
  };
  handlers["DequantizeLinear"] = [this](const ox::Node &n) {
    return importDequantizeLinear(n);
  };
  handlers["Gather"] = [this](const ox::Node &n) { return importGather(n); };
  handlers["Constant"] = [this](const ox::Node &n) {
    return importConstant(n);
  };
  registerMoreHandlers();
}

LogicalResult Importer::importNode(const ox::Node &node) {
  if (node.domain == "com.microsoft" && node.opType == "MatMulNBits")
    return importMatMulNBits(node);
  if (!node.domain.empty())
    return unsupported("ops of domain '" + node.domain +
                       "' are not supported");
  auto it = handlers.find(node.opType);
  if (it == handlers.end())
    return unsupported("unsupported op");
  int32_t movedType = ox::kUndefined;
  if (failed(checkNodeInputs(node, movedType)))
    return failure();
  // Integer shape arithmetic on values known at import time folds to
  // constants, so that Reshape/Expand/Slice/... downstream can read them.
  FailureOr<bool> folded = foldKnownInts(node);
  if (failed(folded))
    return failure();
  if (*folded)
    return success();
  Block *block = builder.getInsertionBlock();
  Operation *lastBefore = block->empty() ? nullptr : &block->back();
  if (failed(it->second(node)) || failed(checkNewTensors(block, lastBefore)))
    return failure();
  if (movedType != ox::kUndefined)
    if (Value moved = values.lookup(node.outputs[0]))
      intTypes[moved] = movedType;
  // Ops that only rearrange a known tensor keep it known.
  static const char *const shapeOnly[] = {"Reshape", "Squeeze", "Unsqueeze",
                                          "Flatten"};
  IntTensor known;
  if (llvm::is_contained(shapeOnly, node.opType) &&
      knownInput(node, 0, known) && known.vals.size() <= 4096 &&
      !node.outputs.empty()) {
    auto found = values.find(node.outputs[0]);
    if (found != values.end() && found->second) {
      Value emitted = found->second;
      known.dims.assign(tensorType(emitted).getShape().begin(),
                        tensorType(emitted).getShape().end());
      if (failed(defineKnown(node, 0, known)))
        return failure();
      // The handler's reshape of the constant is dead now.
      Operation *op = emitted.getDefiningOp();
      if (op && emitted.use_empty() && isa<tosa::ReshapeOp>(op)) {
        Operation *shapeOp = op->getOperand(1).getDefiningOp();
        op->erase();
        if (shapeOp && shapeOp->use_empty())
          shapeOp->erase();
      }
    }
  }
  return success();
}

OwningOpRef<ModuleOp> Importer::run(ImportStatus &status) {
  ctx->loadDialect<nn::NNDialect, tosa::TosaDialect, arith::ArithDialect,
                   func::FuncDialect, tensor::TensorDialect,
                   linalg::LinalgDialect, math::MathDialect,
                   lb::LowBitDialect, quant::QuantDialect>();
  status = ImportStatus::Error;
  Location fileLoc = FileLineColLoc::get(ctx, sourceName, 0, 0);
  auto it = model.opsets.find("");
  if (it == model.opsets.end()) {
    emitError(fileLoc) << "the model declares no opset for the default ONNX "
                          "domain (is the file truncated?)";
    return nullptr;
  }
  opset = it->second;
  // 26..28 changed, of the ops lowbit imports, Range (stash_type, checked
  // there), Cast/QuantizeLinear/DequantizeLinear (float6 types, which lowbit
  // rejects by name) and ReduceLogSum/ReduceLogSumExp (integer types
  // dropped); nothing else lowbit reads changed meaning.
  if (opset < 7 || opset > 28) {
    status = ImportStatus::Unsupported;
    emitError(fileLoc) << "ONNX opset " << opset
                       << " is not supported (lowbit handles opsets 7..28)";
    return nullptr;
  }
  const ox::Graph &graph = model.graph;
  if (graph.outputs.empty()) {
    emitError(fileLoc) << "the graph has no outputs (is the file truncated?)";
    return nullptr;
  }
  std::string malformed = checkGraphStructure(graph);
  if (!malformed.empty()) {
    emitError(fileLoc) << malformed;
    return nullptr;
  }
  registerHandlers();

  // Graph inputs that are not initializers become function arguments.
  llvm::StringMap<const ox::Tensor *> initializers;
  for (const ox::Tensor &t : graph.initializers)
    initializers[t.name] = &t;
  SmallVector<Type> argTypes;
  SmallVector<std::string> argNames;
  SmallVector<int32_t> argIntTypes;
  for (const ox::ValueInfo &in : graph.inputs) {
    if (initializers.count(in.name))
      continue;
    if (!in.isTensor) {
      status = ImportStatus::Unsupported;
      emitError(fileLoc) << "input '" << in.name
                         << "' is not a tensor; sequence, map and optional "
                            "inputs are not supported";
      return nullptr;
    }
    std::vector<int64_t> dims = in.dims;
    auto override = options.inputShapes.find(in.name);
    if (override != options.inputShapes.end()) {
      if (in.hasShape && dims.size() != override->second.size()) {
        emitError(fileLoc) << "--input-shape gives rank "
                           << override->second.size() << " for input '"
                           << in.name << "', but the model declares rank "
                           << dims.size();
        return nullptr;
      }
      for (size_t i = 0; in.hasShape && i < dims.size(); ++i)
        if (dims[i] >= 0 && dims[i] != override->second[i]) {
          emitError(fileLoc) << "--input-shape sets dimension " << i
                             << " of input '" << in.name << "' to "
                             << override->second[i]
                             << ", but the model fixes it to " << dims[i];
          return nullptr;
        }
      dims = override->second;
    } else if (!in.hasShape) {
      emitError(fileLoc) << "input '" << in.name
                         << "' has no shape; give one with --input-shape "
                         << in.name << "=DIMS";
      return nullptr;
    }
    for (size_t i = 0; i < dims.size(); ++i)
      if (dims[i] < 0) {
        std::string param = i < in.dimParams.size() ? in.dimParams[i] : "";
        emitError(fileLoc) << "input '" << in.name << "' has dynamic dimension "
                           << i << (param.empty() ? "" : " ('" + param + "')")
                           << "; make it static with --input-shape " << in.name
                           << "=" << "DIMS";
        return nullptr;
      }
    // uint8/int16/uint16/int4/uint4/int2/uint2 inputs (of the quantization
    // ops) come in integer containers, with their type in intTypes.
    FailureOr<Type> elem =
        isTrackedIntType(in.elemType)
            ? FailureOr<Type>(builder.getIntegerType(containerWidth(in.elemType)))
            : elementType(in.elemType, "input '" + in.name + "'");
    if (failed(elem)) {
      status = failure_.status;
      emitError(fileLoc) << failure_.message;
      return nullptr;
    }
    if (failed(checkTensorSize(dims, *elem, "input '" + in.name + "'"))) {
      status = failure_.status;
      emitError(fileLoc) << failure_.message;
      return nullptr;
    }
    argTypes.push_back(RankedTensorType::get(dims, *elem));
    argNames.push_back(in.name);
    argIntTypes.push_back(isTrackedIntType(in.elemType) ? in.elemType
                                                        : ox::kUndefined);
  }
  for (const auto &[name, shape] : options.inputShapes)
    if (!llvm::is_contained(argNames, name)) {
      emitError(fileLoc) << "--input-shape names '" << name
                         << "', which is not an input of the model";
      return nullptr;
    }

  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  builder.setInsertionPointToEnd(module->getBody());
  auto func = func::FuncOp::create(
      builder, fileLoc, options.functionName,
      builder.getFunctionType(argTypes, {}));
  Block *entry = func.addEntryBlock();
  for (size_t i = 0; i < argNames.size(); ++i) {
    values[argNames[i]] = entry->getArgument(i);
    func.setArgAttr(i, "onnx.name", builder.getStringAttr(argNames[i]));
    if (argIntTypes[i] != ox::kUndefined) {
      intTypes[entry->getArgument(i)] = argIntTypes[i];
      func.setArgAttr(i, "onnx.elem_type",
                      builder.getI32IntegerAttr(argIntTypes[i]));
    }
  }
  builder.setInsertionPointToStart(entry);
  for (const ox::Tensor &t : graph.initializers) {
    if (values.count(t.name))
      continue; // an input overrides its initializer
    if (isTrackedIntType(t.dataType)) {
      // Quantized integer data: only the quantization ops read it, from the
      // constant itself (a null value makes any other consumer unsupported).
      values[t.name] = Value();
      constants[t.name] = &t;
      continue;
    }
    Value v = makeConstant(t, FileLineColLoc::get(ctx, sourceName, 0, 0));
    if (!v) {
      status = failure_.status;
      emitError(fileLoc) << "initializer '" << t.name
                         << "': " << failure_.message;
      return nullptr;
    }
    values[t.name] = v;
    constants[t.name] = &t;
  }

  for (const ox::Node &node : graph.nodes) {
    if (failed(importNode(node))) {
      status = failure_.status;
      emitError(nodeLoc(node))
          << "node '" << (node.name.empty() ? "<unnamed>" : node.name) << "' ("
          << (node.domain.empty() ? "" : node.domain + "::") << node.opType
          << ", opset " << opset << "): " << failure_.message;
      return nullptr;
    }
  }

  SmallVector<Value> results;
  SmallVector<Type> resultTypes;
  SmallVector<int32_t> resultIntTypes;
  for (const ox::ValueInfo &out : graph.outputs) {
    auto found = values.find(out.name);
    if (found == values.end() || !found->second) {
      emitError(fileLoc) << "graph output '" << out.name
                         << "' is not produced by any node";
      return nullptr;
    }
    Value v = found->second;
    // Integers in containers leave with their ONNX type as a result
    // attribute, which the runtime reads (uint8 stays uint8).
    auto tracked = intTypes.find(v);
    int32_t intType =
        tracked != intTypes.end() ? tracked->second : int32_t(ox::kUndefined);
    if (auto q = dyn_cast<quant::QuantizedType>(
            tensorType(v).getElementType())) {
      // A QuantizeLinear result leaves the graph as its storage integers.
      if (q.getStorageTypeIntegralWidth() != 8) {
        status = ImportStatus::Unsupported;
        emitError(fileLoc) << "graph output '" << out.name << "' is " << q
                           << "; only int8 and uint8 quantized outputs are "
                              "supported";
        return nullptr;
      }
      if (!q.isSigned())
        intType = ox::kUint8;
      builder.setInsertionPointToEnd(entry);
      v = quant::StorageCastOp::create(
          builder, fileLoc,
          RankedTensorType::get(tensorType(v).getShape(), builder.getI8Type()),
          v);
    }
    if (out.hasShape) {
      auto shape = tensorType(v).getShape();
      bool matches = out.dims.size() == shape.size();
      for (size_t i = 0; matches && i < shape.size(); ++i)
        matches = out.dims[i] < 0 || out.dims[i] == shape[i];
      if (!matches) {
        emitError(fileLoc) << "graph output '" << out.name
                           << "' is declared with shape "
                           << shapeString(out.dims)
                           << " but computes to " << shapeString(shape);
        return nullptr;
      }
    }
    results.push_back(v);
    resultTypes.push_back(v.getType());
    resultIntTypes.push_back(intType);
  }
  func::ReturnOp::create(builder, fileLoc, results);
  func.setType(builder.getFunctionType(argTypes, resultTypes));
  for (size_t i = 0; i < graph.outputs.size(); ++i) {
    func.setResultAttr(i, "onnx.name",
                       builder.getStringAttr(graph.outputs[i].name));
    if (resultIntTypes[i] != ox::kUndefined)
      func.setResultAttr(i, "onnx.elem_type",
                         builder.getI32IntegerAttr(resultIntTypes[i]));
  }
  if (failed(verify(*module))) {
    emitError(fileLoc) << "internal error: the imported module does not "
                          "verify";
    return nullptr;
  }
  status = ImportStatus::Ok;
  return module;
}

} // namespace lowbit::onnximport
