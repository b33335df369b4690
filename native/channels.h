// Per-channel bias add and per-channel sums over the layouts activations take here (plain nchw
// and oneDNN's nChw16c / nChw8c). oneDNN 2.6 adds a transposed convolution's bias, and broadcasts a binary
// add over a blocked layout, with slow reference code; these loops are what those should cost.
#pragma once
#include <cstring>
#include <vector>

#include "common.h"

namespace pyo {

inline float bf16_to_float(uint16_t v) {
  const uint32_t bits = static_cast<uint32_t>(v) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

inline uint16_t float_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);  // quiet NaN
  bits += 0x7fffu + ((bits >> 16) & 1u);  // round to nearest even
  return static_cast<uint16_t>(bits >> 16);
}

// Channel block of a layout: 16 for nChw16c, 8 for nChw8c, 0 for plain nchw; throws for anything else.
inline int64_t channel_block(const md& layout) {
  const auto& d = layout.data;
  const auto& b = d.format_desc.blocking;
  if (d.ndims == 4 && d.format_kind == dnnl_blocked && b.inner_nblks == 1 && b.inner_idxs[0] == 1) return b.inner_blks[0];
  if (layout == md(layout.dims(), layout.data_type(), memory::format_tag::abcd)) return 0;
  throw std::runtime_error("per-channel loops support nchw and nChw<block>c layouts, got " + describe(layout));
}

// Visits element runs: f(channel, pointer index of the run start, run length, stride).
template <typename F>
void for_channel_runs(const md& layout, F f) {
  const auto d = layout.dims();
  const int64_t N = d[0], C = d[1], plane = d[2] * d[3];
  const int64_t block = channel_block(layout);
  if (block == 0) {
#pragma omp parallel for schedule(static)
    for (int64_t nc = 0; nc < N * C; ++nc) f(nc % C, nc * plane, plane, 1);
    return;
  }
  const int64_t blocks = (C + block - 1) / block;
#pragma omp parallel for schedule(static)
  for (int64_t nb = 0; nb < N * blocks; ++nb) {
    const int64_t base = nb * plane * block;
    const int64_t first = (nb % blocks) * block;
    for (int64_t i = 0; i < block && first + i < C; ++i) f(first + i, base + i, plane, block);
  }
}

// y[n, c, h, w] += bias[c], for f32 or bf16 y.
inline void add_channel_bias(const TensorPtr& y, const TensorPtr& bias) {
  const md layout = y->mem.get_desc();
  const float* b = static_cast<const float*>(bias->mem.get_data_handle());
  if (layout.data_type() == dt::bf16) {
    auto* p = static_cast<uint16_t*>(y->mem.get_data_handle());
    for_channel_runs(layout, [&](int64_t c, int64_t start, int64_t length, int64_t stride) {
      for (int64_t k = 0; k < length; ++k) p[start + k * stride] = float_to_bf16(bf16_to_float(p[start + k * stride]) + b[c]);
    });
  } else {
    auto* p = static_cast<float*>(y->mem.get_data_handle());
    for_channel_runs(layout, [&](int64_t c, int64_t start, int64_t length, int64_t stride) {
      for (int64_t k = 0; k < length; ++k) p[start + k * stride] += b[c];
    });
  }
}

// out[c] = Σ_{n,h,w} g[n, c, h, w] (the gradient of a per-channel bias), for f32 or bf16 g.
inline void channel_sums(const TensorPtr& g, const TensorPtr& out) {
  const md layout = g->mem.get_desc();
  const int64_t C = layout.dims()[1];
  std::vector<double> sums(static_cast<size_t>(C), 0.0);
  const bool bf16 = layout.data_type() == dt::bf16;
  const void* data = g->mem.get_data_handle();
  for_channel_runs(layout, [&](int64_t c, int64_t start, int64_t length, int64_t stride) {
    double s = 0;
    if (bf16) for (int64_t k = 0; k < length; ++k) s += bf16_to_float(static_cast<const uint16_t*>(data)[start + k * stride]);
    else for (int64_t k = 0; k < length; ++k) s += static_cast<const float*>(data)[start + k * stride];
#pragma omp atomic
    sums[static_cast<size_t>(c)] += s;
  });
  float* o = static_cast<float*>(out->mem.get_data_handle());
  for (int64_t c = 0; c < C; ++c) o[c] = static_cast<float>(sums[static_cast<size_t>(c)]);
}

}  // namespace pyo
