#include "cpu/encoder.h"

#include "core/bf16.h"
#include "cpu/parallel.h"

namespace hg {
namespace cpu {

namespace {
inline float widen(float x) { return x; }
inline float widen(uint16_t bits) { return from_bf16(bits); }  // exact

// out [B,T,C], tokens [B,T], wte [V,C], wpe [P,C]; W: float (f32 tables) or uint16_t (bf16 bits)
template <class W>
void encode(float* out, const int32_t* tokens, const W* wte, const W* wpe, int64_t B, int64_t T, int64_t C) {
  parallel_chunks(B * T, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const W* te = wte + static_cast<int64_t>(tokens[r]) * C;
      float* o = out + r * C;
      if (!wpe) {  // no learned positions (RoPE rotates q and k instead)
        for (int64_t c = 0; c < C; ++c) o[c] = widen(te[c]);
        continue;
      }
      const W* pe = wpe + (r % T) * C;
      for (int64_t c = 0; c < C; ++c) o[c] = widen(te[c]) + widen(pe[c]);
    }
  }, 2 * C);
}
}  // namespace

void encoder_forward(float* out, const int32_t* tokens, const float* wte, const float* wpe,
                     int64_t B, int64_t T, int64_t C) {
  encode(out, tokens, wte, wpe, B, T, C);
}

void encoder_forward(float* out, const int32_t* tokens, const uint16_t* wte, const uint16_t* wpe,
                     int64_t B, int64_t T, int64_t C) {
  encode(out, tokens, wte, wpe, B, T, C);
}

// Forward: o[c] = te[c] + pe[c]. A token can repeat, so dwte rows are reduced over (b,t) in
// order inside each channel chunk (no two chunks touch the same floats).
void encoder_backward(float* dwte, float* dwpe, const float* dout, const int32_t* tokens,
                      int64_t B, int64_t T, int64_t C) {
  parallel_chunks(C, 64, [&](int64_t c0, int64_t c1) {
    for (int64_t r = 0; r < B * T; ++r) {
      const float* d = dout + r * C;
      float* dte = dwte + static_cast<int64_t>(tokens[r]) * C;
      if (!dwpe) {
        for (int64_t c = c0; c < c1; ++c) dte[c] += d[c];
        continue;
      }
      float* dpe = dwpe + (r % T) * C;
      for (int64_t c = c0; c < c1; ++c) {
        dte[c] += d[c];
        dpe[c] += d[c];
      }
    }
  }, 2 * B * T);
}

}  // namespace cpu
}  // namespace hg
