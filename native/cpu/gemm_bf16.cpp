// cpu::gemm_bf16 through oneDNN's matmul primitive (see gemm_bf16.h for the contract).
//
// Each call rounds the stored A and B (as stored: [rows, cols] with their leading dimension) to
// dense bf16 copies and hands oneDNN strided descriptors, so a transposed operand is never
// copied twice. Primitives are cached by shape; oneDNN's OpenMP threads are sized like ours and
// calls take turns with each other, as gemm() calls do.
#include "cpu/gemm_bf16.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include "core/errors.h"
#include "core/thread_pool.h"
#include "cpu/parallel.h"

#ifdef HEADGRAD_WITH_DNNL
#include <oneapi/dnnl/dnnl.hpp>
extern "C" void omp_set_num_threads(int);
#endif

namespace hg {
namespace cpu {

#ifdef HEADGRAD_WITH_DNNL
namespace {

const char* isa_name(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::sse41: return "sse41";
    default: return "other";
  }
}

Bf16Support detect() {
  Bf16Support s;
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  s.isa = isa_name(isa);
  const unsigned bits = static_cast<unsigned>(isa), bf16 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
  const char* off = std::getenv("HEADGRAD_CPU_BF16");
  if (off && std::strcmp(off, "off") == 0) {
    s.reason = "HEADGRAD_CPU_BF16=off: f32 runs";
  } else if ((bits & bf16) != bf16) {
    s.reason = "the CPU has no bf16 instructions (oneDNN ISA " + s.isa + "): f32 runs";
  } else {
    s.available = true;
    s.reason = std::string("oneDNN ") + std::to_string(dnnl_version()->major) + "." +
               std::to_string(dnnl_version()->minor) + " bf16 matmul on " + s.isa;
  }
  return s;
}

struct Key {
  bool ta, tb, accumulate;
  int64_t M, N, K, ldc;
  bool operator<(const Key& o) const {
    return std::tie(ta, tb, accumulate, M, N, K, ldc) < std::tie(o.ta, o.tb, o.accumulate, o.M, o.N, o.K, o.ldc);
  }
};

struct Dnnl {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  std::map<Key, dnnl::matmul> cache;
  std::mutex m;
  std::vector<uint16_t> a16, b16;
};

Dnnl& dnnl_state() {
  static Dnnl* d = [] {
    omp_set_num_threads(num_threads());  // HEADGRAD_THREADS governs oneDNN's threads too
    return new Dnnl();
  }();
  return *d;
}

// dst [rows, cols] dense = bf16(src [rows, cols] with leading dimension ld)
void round_to_bf16(std::vector<uint16_t>& dst, const float* src, int64_t rows, int64_t cols, int64_t ld) {
  dst.resize(static_cast<size_t>(rows * cols));
  uint16_t* d = dst.data();
  parallel_chunks(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(cols, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t c = 0; c < cols; ++c) d[r * cols + c] = to_bf16(src[r * ld + c]);
  });
}

dnnl::matmul primitive(Dnnl& d, const Key& k) {
  auto it = d.cache.find(k);
  if (it != d.cache.end()) return it->second;
  using dt = dnnl::memory::data_type;
  // op(A) [M,K]: stored [M,K] dense (strides K,1) or, transposed, [K,M] dense (strides 1,M).
  const dnnl::memory::dims a_strides = k.ta ? dnnl::memory::dims{1, k.M} : dnnl::memory::dims{k.K, 1};
  const dnnl::memory::dims b_strides = k.tb ? dnnl::memory::dims{1, k.K} : dnnl::memory::dims{k.N, 1};
  dnnl::memory::desc a_md({k.M, k.K}, dt::bf16, a_strides), b_md({k.K, k.N}, dt::bf16, b_strides),
      c_md({k.M, k.N}, dt::f32, dnnl::memory::dims{k.ldc, 1});
  dnnl::primitive_attr attr;
  if (k.accumulate) {
    dnnl::post_ops po;
    po.append_sum(1.f);
    attr.set_post_ops(po);
  }
  dnnl::matmul p(dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, b_md, c_md), attr, d.eng));
  d.cache.emplace(k, p);
  return p;
}

}  // namespace

const Bf16Support& bf16_support() {
  static const Bf16Support s = detect();
  return s;
}

void gemm_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
               const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
               int64_t ldc) {
  HG_CHECK(bf16_support().available, "gemm_bf16: " + bf16_support().reason);
  HG_CHECK(alpha == 1.f && (beta == 0.f || beta == 1.f), "gemm_bf16: needs alpha = 1 and beta 0 or 1");
  if (M == 0 || N == 0) return;
  if (K == 0) {  // op(A)·op(B) = 0
    if (beta == 0.f)
      for (int64_t i = 0; i < M; ++i) std::memset(C + i * ldc, 0, static_cast<size_t>(N) * 4);
    return;
  }
  Dnnl& d = dnnl_state();
  std::lock_guard<std::mutex> lock(d.m);  // one oneDNN call at a time (shared scratch and cache)
  round_to_bf16(d.a16, A, trans_a ? K : M, trans_a ? M : K, lda);
  round_to_bf16(d.b16, B, trans_b ? N : K, trans_b ? K : N, ldb);
  const Key key{trans_a, trans_b, beta == 1.f, M, N, K, ldc};
  dnnl::matmul p = primitive(d, key);
  const auto& pd = p.get_primitive_desc();
  dnnl::matmul::primitive_desc mpd(const_cast<dnnl_primitive_desc_t>(pd));
  dnnl::memory a(mpd.src_desc(), d.eng, d.a16.data()), b(mpd.weights_desc(), d.eng, d.b16.data()),
      c(mpd.dst_desc(), d.eng, C);
  p.execute(d.strm, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
  d.strm.wait();
}

#else  // no oneDNN in this build

const Bf16Support& bf16_support() {
  static const Bf16Support s{false, "", "this build has no oneDNN (libdnnl-dev was not found when it was built): f32 runs"};
  return s;
}

void gemm_bf16(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t,
               float, float*, int64_t) {
  throw_error("gemm_bf16: " + bf16_support().reason);
}

#endif

}  // namespace cpu
}  // namespace hg
