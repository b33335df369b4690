// The gradient of a weight, delivered in the weight's own layout so the optimizer can update the
// two element by element; backward primitives that prefer another layout get a reorder.
#pragma once
#include "common.h"

namespace pyo {

// Weight-gradient output in the weights' own layout, with a reorder when backward prefers another.
struct WeightGrad {
  Output grad;
  TensorPtr raw;
  Exec reorder;
  memory target(const md& preferred, const TensorPtr& weights) {
    grad.ensure(weights->shape, weights->mem.get_desc());
    grad.t->plain = weights->plain;
    if (preferred == weights->mem.get_desc()) return grad.t->mem;
    if (!raw || raw->mem.get_desc() != preferred) {
      raw = make_tensor(weights->shape, preferred);
      const auto pd = dnnl::reorder::primitive_desc(raw->mem, grad.t->mem, scratch_attr());
      reorder.init(dnnl::reorder(pd), pd);
      reorder.label = "reorder";
      reorder.args = {{DNNL_ARG_FROM, raw->mem}, {DNNL_ARG_TO, grad.t->mem}};
    }
    return raw->mem;
  }
  void finish(const md& preferred, const TensorPtr& weights) {
    if (preferred != weights->mem.get_desc()) {
      reorder.set(DNNL_ARG_TO, grad.t->mem);
      reorder.enqueue();
    }
  }
};

}  // namespace pyo
