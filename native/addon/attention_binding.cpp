// attentionForward / attentionBackward (Promise, run on an AsyncWorker) and their *Sync twins.
// This file only converts arguments: it checks them (lib/validate.ts checks the same bounds
// first; a caller may reach the raw addon), copies the inputs (async_job.h), and hands the call
// to core/dispatch.h, which picks the backend.
//
// JS signatures (arrays are Float32Array; shape = {batch, heads, seqLen, headDim}):
//   attentionForward(q, k, v, shape, opts)                    -> {out, lse}
//   attentionBackward(dout, q, k, v, out, lse, shape, opts)   -> {dq, dk, dv, headScore}
//   opts: {causal = true, scale = 0 (1/sqrt(D)), device = 'cpu'|'cuda', precision = 'f32'|'bf16',
//          captureScore = true (false only to measure the capture's cost)}
#include <napi.h>

#include <memory>
#include <utility>
#include <vector>

#include "addon/async_job.h"
#include "addon/napi_util.h"
#include "core/attention.h"
#include "core/dispatch.h"

namespace hg {
namespace addon {

namespace {

struct AttnCall {
  AttnShape shape;
  AttnParams params;
  Backend backend;
  bool capture = true;
};

AttnShape parse_shape(const Napi::Value& v) {
  Napi::Object o = require_object(v, "shape");
  AttnShape s;
  s.B = require_pos_int(o, "batch", "shape");
  s.H = require_pos_int(o, "heads", "shape");
  s.T = require_pos_int(o, "seqLen", "shape");
  s.D = require_pos_int(o, "headDim", "shape");
  if (s.D > kMaxHeadDim)
    range_error(v.Env(), "shape.headDim: expected at most " + std::to_string(kMaxHeadDim) +
                             ", got " + std::to_string(s.D));
  if (static_cast<double>(s.B) * s.H * s.T * s.D > 4e9)
    range_error(v.Env(), "shape: batch·heads·seqLen·headDim must stay below " + js_number(v.Env(), 4e9) + " elements");
  return s;
}

AttnCall parse_call(const Napi::Value& shape, const Napi::Value& opts_value) {
  AttnCall c;
  c.shape = parse_shape(shape);
  if (opts_value.IsUndefined()) return c;
  Napi::Object o = require_object(opts_value, "opts");
  c.params.causal = optional_bool(o, "causal", true, "opts");
  const double scale = optional_number(o, "scale", 0.0, "opts");
  if (scale < 0 || scale > 3.4e38)
    range_error(o.Env(), "opts.scale: expected a finite positive number, got " + describe(o.Get("scale")));
  c.params.scale = static_cast<float>(scale);
  if (optional_choice(o, "device", "cpu", "cpu|cuda", "opts") == "cuda") c.backend.device = Device::Cuda;
  if (optional_choice(o, "precision", "f32", "f32|bf16", "opts") == "bf16") c.backend.precision = cuda::Precision::BF16;
  if (c.backend.device == Device::Cpu) {
    try {
      check_backend(c.backend, "opts", "attention");  // bf16 on the CPU is a bad argument: refuse it now
    } catch (const std::exception& e) {
      throw to_js_error(o.Env(), e);
    }
  }
  c.capture = optional_bool(o, "captureScore", true, "opts");
  return c;
}

// A copy of a Float32Array input of `len` elements, checked finite on the copy.
HostArray<float> input(const Napi::Value& v, const char* name, size_t len) {
  HostArray<float> a = copy_input(require_f32(v, name, len), name);
  require_finite(v.Env(), a.get(), a.len, name);
  return a;
}

// One call: its argument copies, the outputs (allocated by run(), on the thread that computes)
// and their names in the result object.
struct Job {
  AttnCall c;
  bool backward = false;
  std::vector<HostArray<float>> in;  // forward: q, k, v; backward: dout, q, k, v, out, lse
  std::vector<std::pair<const char*, HostArray<float>>> out;

  void run() {
    const size_t n = static_cast<size_t>(c.shape.numel());
    const AttnShape& s = c.shape;
    if (!backward) {
      out.emplace_back("out", new_output<float>("out", n));
      out.emplace_back("lse", new_output<float>("lse", static_cast<size_t>(s.rows())));
      attention_forward(c.backend, in[0].get(), in[1].get(), in[2].get(), out[0].second.get(), out[1].second.get(), s,
                        c.params);
      return;
    }
    for (const char* name : {"dq", "dk", "dv"}) out.emplace_back(name, new_output<float>(name, n));
    out.emplace_back("headScore", new_output<float>("headScore", static_cast<size_t>(s.B * s.H)));
    float* score = c.capture ? out[3].second.get() : nullptr;  // capture off: headScore stays zero
    attention_backward(c.backend, in[0].get(), in[1].get(), in[2].get(), in[3].get(), in[4].get(), in[5].get(),
                       out[0].second.get(), out[1].second.get(), out[2].second.get(), score, s, c.params);
  }
  Napi::Object to_js(Napi::Env env) {
    Napi::Object result = Napi::Object::New(env);
    for (auto& [name, array] : out) result.Set(name, hand_over(env, array));
    // What ran: 'bf16' only where a tensor-core kernel exists for this head size.
    result.Set("precision", attention_precision(c.backend, c.shape.D) == cuda::Precision::BF16 ? "bf16" : "f32");
    return result;
  }
};

std::unique_ptr<Job> forward_job(const Napi::CallbackInfo& info) {
  auto job = std::make_unique<Job>();
  job->c = parse_call(info[3], info[4]);
  const size_t n = static_cast<size_t>(job->c.shape.numel());
  job->in.push_back(input(info[0], "q", n));
  job->in.push_back(input(info[1], "k", n));
  job->in.push_back(input(info[2], "v", n));
  return job;
}

std::unique_ptr<Job> backward_job(const Napi::CallbackInfo& info) {
  auto job = std::make_unique<Job>();
  job->c = parse_call(info[6], info[7]);
  job->backward = true;
  const size_t n = static_cast<size_t>(job->c.shape.numel());
  const char* names[] = {"dout", "q", "k", "v", "out"};
  for (int i = 0; i < 5; ++i) job->in.push_back(input(info[i], names[i], n));
  job->in.push_back(input(info[5], "lse", static_cast<size_t>(job->c.shape.rows())));
  return job;
}

class JobWorker : public PromiseWorker {
 public:
  JobWorker(Napi::Env env, std::unique_ptr<Job> job, const char* name) : PromiseWorker(env, name), job_(std::move(job)) {}

 private:
  void Run() override { job_->run(); }
  Napi::Value Result(Napi::Env env) override { return job_->to_js(env); }
  std::unique_ptr<Job> job_;
};

using JobFactory = std::unique_ptr<Job> (*)(const Napi::CallbackInfo&);

template <JobFactory make>
Napi::Value run_async(const Napi::CallbackInfo& info) {
  const char* name = make == forward_job ? "attentionForward" : "attentionBackward";
  auto* worker = new JobWorker(info.Env(), make(info), name);  // owned by libuv once queued
  worker->Queue();
  return worker->promise();
}

template <JobFactory make>
Napi::Value run_sync(const Napi::CallbackInfo& info) {
  std::unique_ptr<Job> job = make(info);
  try {
    job->run();
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(info.Env(), "attention: out of memory");
  } catch (const std::exception& e) {
    throw to_js_error(info.Env(), e);
  }
  return job->to_js(info.Env());
}

}  // namespace

void InitAttention(Napi::Env env, Napi::Object exports) {
  exports.Set("attentionForward", Napi::Function::New(env, run_async<forward_job>, "attentionForward"));
  exports.Set("attentionBackward", Napi::Function::New(env, run_async<backward_job>, "attentionBackward"));
  exports.Set("attentionForwardSync", Napi::Function::New(env, run_sync<forward_job>, "attentionForwardSync"));
  exports.Set("attentionBackwardSync", Napi::Function::New(env, run_sync<backward_job>, "attentionBackwardSync"));
}

}  // namespace addon
}  // namespace hg
