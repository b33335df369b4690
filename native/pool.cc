// 2×2 max-pooling with stride 2, forward (training keeps the argmax workspace) and backward.
#include "common.h"
#include "kernel.h"
#include "unary.h"

namespace pyo {

using namespace dnnl;

namespace {

class MaxPool2d : public UnaryKernel<MaxPool2d, pooling_forward, pooling_backward> {
  PYO_KERNEL(MaxPool2d)

  Napi::Value Forward(const Napi::CallbackInfo& info) {
    TensorPtr x = unwrap(info[0], "maxPool2d input");
    const bool training = read_options<ForwardMode>(info[1], "maxPool2d forward").training;
    if (x->shape.size() != 4 || x->shape[2] % 2 || x->shape[3] % 2) {
      throw std::runtime_error("maxPool2d needs an [N, C, H, W] input with even H and W, got " + shape_text(x->shape));
    }
    return run_forward(info, x, training, "maxpool.fwd");
  }

  Napi::Value Backward(const Napi::CallbackInfo& info) { return run_backward(info, "maxpool.bwd"); }

  pooling_forward::primitive_desc forward_pd(const md& x_layout, bool training) const {
    const dims x = x_layout.dims();
    const dims y_shape{x[0], x[1], x[2] / 2, x[3] / 2};
    return pooling_forward::primitive_desc(
        pooling_forward::desc(training ? prop_kind::forward_training : prop_kind::forward_inference, algorithm::pooling_max,
                              x_layout, any_md(y_shape, x_layout.data_type()), {2, 2}, {2, 2}, {0, 0}, {0, 0}),
        scratch_attr(), cpu());
  }

  pooling_backward::primitive_desc backward_pd(const Entry& e) const {
    return pooling_backward::primitive_desc(
        pooling_backward::desc(algorithm::pooling_max, e.x_layout, e.y.t->mem.get_desc(), {2, 2}, {2, 2}, {0, 0}, {0, 0}),
        scratch_attr(), cpu(), e.fwd_pd);
  }
};

}  // namespace

PYO_EXPORT_KERNEL(MaxPool2d)

}  // namespace pyo
