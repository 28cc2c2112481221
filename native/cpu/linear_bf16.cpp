// Linear layers on bf16-resident weights (contract in linear_bf16.h).
//
// oneDNN path: the input is rounded to a dense bf16 copy per call; W is read where it lies,
// through a strided descriptor (forward: W as the [IC, OC] matrix Wᵀ, strides {1, IC};
// backward: W itself, [OC, IC], strides {IC, 1}), so no weight is ever copied or repacked.
// Portable path: W is widened a tile of rows at a time (exact) and the input rounded to bf16
// values held as f32, then cpu::gemm runs in f32; the products are the same numbers as the
// bf16 instructions form, so only the summation order differs from oneDNN.
#include "cpu/linear_bf16.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include "core/errors.h"
#include "core/thread_pool.h"
#include "cpu/gemm.h"
#include "cpu/gemm_bf16.h"
#include "cpu/gemm_bf16_own.h"
#include "cpu/parallel.h"

#ifdef HEADGRAD_WITH_DNNL
#include <oneapi/dnnl/dnnl.hpp>
extern "C" void omp_set_num_threads(int);
#endif

namespace hg {
namespace cpu {
namespace {

// Floats of widened W (or rounded input) per tile of the portable path: 4 MiB, so the extra
// memory stays small next to any weight matrix while every gemm call is still large.
constexpr int64_t kTileFloats = int64_t{1} << 20;

// dst [rows, cols] = bf16 values of src [rows, cols] (leading dimension ld), held as f32.
void round_rows(float* dst, const float* src, int64_t rows, int64_t cols, int64_t ld) {
  parallel_chunks(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(cols, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t c = 0; c < cols; ++c) dst[r * cols + c] = from_bf16(to_bf16(src[r * ld + c]));
  });
}

// dst [rows, IC] = W rows [r0, r0 + rows) widened to f32 (exact).
void widen_rows(float* dst, const uint16_t* W, int64_t r0, int64_t rows, int64_t IC) {
  parallel_chunks(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(IC, 1)), [&](int64_t a, int64_t b) {
    for (int64_t r = a; r < b; ++r) {
      const uint16_t* w = W + (r0 + r) * IC;
      for (int64_t c = 0; c < IC; ++c) dst[r * IC + c] = from_bf16(w[c]);
    }
  });
}

void add_bias(float* out, const float* bias, int64_t N, int64_t OC) {
  if (!bias) return;
  parallel_chunks(N, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t o = 0; o < OC; ++o) out[r * OC + o] += bias[o];
  });
}

void zero_rows(float* out, int64_t N, int64_t cols) { std::memset(out, 0, static_cast<size_t>(N * cols) * 4); }

// out[N,OC] = bf16(A)·Wᵀ
void forward_portable(float* out, const float* A, const uint16_t* W, int64_t N, int64_t IC, int64_t OC) {
  std::vector<float> a(static_cast<size_t>(N * IC));
  round_rows(a.data(), A, N, IC, IC);
  const int64_t rows = std::max<int64_t>(1, kTileFloats / IC);
  std::vector<float> w(static_cast<size_t>(std::min(rows, OC) * IC));
  for (int64_t o0 = 0; o0 < OC; o0 += rows) {
    const int64_t ob = std::min(rows, OC - o0);
    widen_rows(w.data(), W, o0, ob, IC);
    gemm(false, true, N, ob, IC, 1.f, a.data(), IC, w.data(), IC, 0.f, out + o0, OC);  // out[:, o0:o0+ob]
  }
}

// dinp[N,IC] = Σ over row tiles of W: bf16(dout[:, tile]) · W[tile, :]
void backward_input_portable(float* dinp, const float* dout, const uint16_t* W, int64_t N, int64_t IC, int64_t OC) {
  const int64_t rows = std::max<int64_t>(1, kTileFloats / IC);
  std::vector<float> w(static_cast<size_t>(std::min(rows, OC) * IC)), d(static_cast<size_t>(N * std::min(rows, OC)));
  for (int64_t o0 = 0; o0 < OC; o0 += rows) {
    const int64_t ob = std::min(rows, OC - o0);
    widen_rows(w.data(), W, o0, ob, IC);
    round_rows(d.data(), dout + o0, N, ob, OC);
    gemm(false, false, N, IC, ob, 1.f, d.data(), ob, w.data(), IC, o0 == 0 ? 0.f : 1.f, dinp, IC);
  }
}

#ifdef HEADGRAD_WITH_DNNL
struct Key {
  bool backward;
  int64_t N, IC, OC;
  bool operator<(const Key& o) const { return std::tie(backward, N, IC, OC) < std::tie(o.backward, o.N, o.IC, o.OC); }
};

struct Dnnl {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  std::map<Key, dnnl::matmul> cache;
  std::mutex m;
};

Dnnl& dnnl_state() {
  static Dnnl* d = [] {
    omp_set_num_threads(num_threads());  // HEADGRAD_THREADS governs oneDNN's threads too
    return new Dnnl();
  }();
  return *d;
}

dnnl::matmul primitive(Dnnl& d, const Key& k) {
  auto it = d.cache.find(k);
  if (it != d.cache.end()) return it->second;
  using dt = dnnl::memory::data_type;
  using dims = dnnl::memory::dims;
  // forward: src [N,IC] · weights Wᵀ [IC,OC] (W [OC,IC] read with strides {1,IC}) -> [N,OC]
  // backward: src [N,OC] · weights W [OC,IC] (strides {IC,1}) -> [N,IC]
  const int64_t K = k.backward ? k.OC : k.IC, M = k.backward ? k.IC : k.OC;
  dnnl::memory::desc src({k.N, K}, dt::bf16, dims{K, 1});
  dnnl::memory::desc wei({K, M}, dt::bf16, k.backward ? dims{k.IC, 1} : dims{1, k.IC});
  dnnl::memory::desc dst({k.N, M}, dt::f32, dims{M, 1});
  dnnl::matmul p(dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, wei, dst), d.eng));
  d.cache.emplace(k, p);
  return p;
}

// out [N, backward ? IC : OC] = bf16(in) · (backward ? W : Wᵀ)
void run_dnnl(bool backward, float* out, const float* in, const uint16_t* W, int64_t N, int64_t IC, int64_t OC) {
  const int64_t K = backward ? OC : IC;
  std::vector<uint16_t> in16(static_cast<size_t>(N * K));
  parallel_chunks(N, std::max<int64_t>(1, 16384 / K), [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0 * K; i < r1 * K; ++i) in16[i] = to_bf16(in[i]);
  });
  Dnnl& d = dnnl_state();
  std::lock_guard<std::mutex> lock(d.m);  // one oneDNN call at a time (shared cache and stream)
  dnnl::matmul p = primitive(d, Key{backward, N, IC, OC});
  const auto& pd = p.get_primitive_desc();
  dnnl::matmul::primitive_desc mpd(const_cast<dnnl_primitive_desc_t>(pd));
  dnnl::memory a(mpd.src_desc(), d.eng, in16.data()), b(mpd.weights_desc(), d.eng, const_cast<uint16_t*>(W)),
      c(mpd.dst_desc(), d.eng, out);
  p.execute(d.strm, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
  d.strm.wait();
}
#endif

LinearBf16Choice choose() {
  LinearBf16Choice c;
  const Bf16Support& b = bf16_support();
  if (b.impl == Bf16Impl::Own) {
    c.impl = LinearBf16Impl::Own;
    c.reason = "own kernel on bf16 weights (" + b.reason + ")";
  } else if (b.impl == Bf16Impl::Onednn) {
    c.impl = LinearBf16Impl::Dnnl;
    c.reason = "oneDNN matmul on bf16 weights (" + b.reason + ")";
  } else {
    c.impl = LinearBf16Impl::Portable;
    c.reason = "portable: bf16 weights widened to f32 a tile at a time (" + b.reason + ")";
  }
  return c;
}

}  // namespace

bool linear_bf16_impl_available(LinearBf16Impl impl) {
  if (impl == LinearBf16Impl::Portable) return true;
  if (impl == LinearBf16Impl::Own) return bf16_impl_runs(Bf16Impl::Own);
  return bf16_impl_runs(Bf16Impl::Onednn);  // false in a build without oneDNN
}

const char* linear_bf16_impl_name(LinearBf16Impl impl) {
  return impl == LinearBf16Impl::Own ? "own" : impl == LinearBf16Impl::Dnnl ? "onednn" : "portable";
}

const LinearBf16Choice& linear_bf16_choice() {
  static const LinearBf16Choice c = choose();
  return c;
}

void linear_forward_bf16w_with(LinearBf16Impl impl, float* out, const float* A, const uint16_t* W,
                               const float* bias, int64_t N, int64_t IC, int64_t OC) {
  HG_CHECK(linear_bf16_impl_available(impl), std::string("linear_forward_bf16w: ") + linear_bf16_impl_name(impl) +
                                                 " is not available in this build or on this CPU");
  if (N == 0 || OC == 0) return;
  if (impl == LinearBf16Impl::Own) return linear_forward_bf16w_avx512(out, A, W, bias, N, IC, OC);  // bias fused
  if (IC == 0) zero_rows(out, N, OC);
#ifdef HEADGRAD_WITH_DNNL
  else if (impl == LinearBf16Impl::Dnnl) run_dnnl(false, out, A, W, N, IC, OC);
#endif
  else forward_portable(out, A, W, N, IC, OC);
  add_bias(out, bias, N, OC);
}

void linear_backward_input_bf16w_with(LinearBf16Impl impl, float* dinp, const float* dout, const uint16_t* W,
                                      int64_t N, int64_t IC, int64_t OC) {
  HG_CHECK(linear_bf16_impl_available(impl), std::string("linear_backward_input_bf16w: ") +
                                                 linear_bf16_impl_name(impl) + " is not available in this build or on this CPU");
  if (N == 0 || IC == 0) return;
  if (OC == 0) return zero_rows(dinp, N, IC);
  if (impl == LinearBf16Impl::Own) return linear_backward_input_bf16w_avx512(dinp, dout, W, N, IC, OC);
#ifdef HEADGRAD_WITH_DNNL
  if (impl == LinearBf16Impl::Dnnl) return run_dnnl(true, dinp, dout, W, N, IC, OC);
#endif
  backward_input_portable(dinp, dout, W, N, IC, OC);
}

void linear_forward_bf16w(float* out, const float* A, const uint16_t* W, const float* bias, int64_t N, int64_t IC,
                          int64_t OC) {
  linear_forward_bf16w_with(linear_bf16_choice().impl, out, A, W, bias, N, IC, OC);
}

void linear_backward_input_bf16w(float* dinp, const float* dout, const uint16_t* W, int64_t N, int64_t IC,
                                 int64_t OC) {
  linear_backward_input_bf16w_with(linear_bf16_choice().impl, dinp, dout, W, N, IC, OC);
}

}  // namespace cpu
}  // namespace hg
