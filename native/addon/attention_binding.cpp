// attentionForward / attentionBackward (Promise, run on an AsyncWorker) and their *Sync twins.
// lib/attention.ts validates first and resolves the device; this file checks everything again
// (a caller may reach the raw addon) and never lets a bad call reach a kernel.
//
// JS signatures (arrays are Float32Array; shape = {batch, heads, seqLen, headDim}):
//   attentionForward(q, k, v, shape, opts)                    -> {out, lse}
//   attentionBackward(dout, q, k, v, out, lse, shape, opts)   -> {dq, dk, dv, headScore}
//   opts: {causal = true, scale = 0 (1/sqrt(D)), device = 'cpu'|'cuda', precision = 'f32'|'bf16',
//          captureScore = true (false only to measure the capture's cost)}
#include <napi.h>

#include <functional>
#include <memory>
#include <vector>

#include "addon/napi_util.h"
#include "core/attention.h"
#include "core/cuda_api.h"

namespace hg {
namespace addon {

namespace {

struct AttnCall {
  AttnShape shape;
  AttnParams params;
  bool cuda = false;
  bool bf16 = false;
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
    range_error(v.Env(), "shape: batch·heads·seqLen·headDim must stay below 4e9 elements");
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
    range_error(o.Env(), "opts.scale: expected a positive finite number, got " + describe(o.Get("scale")));
  c.params.scale = static_cast<float>(scale);
  c.cuda = optional_choice(o, "device", "cpu", "cpu|cuda", "opts") == "cuda";
  c.bf16 = optional_choice(o, "precision", "f32", "f32|bf16", "opts") == "bf16";
  if (c.bf16 && !c.cuda)
    range_error(o.Env(), "opts.precision: 'bf16' runs on the CUDA backend only, got device 'cpu'");
  c.capture = optional_bool(o, "captureScore", true, "opts");
  return c;
}

// A Float32Array input of `len` finite elements.
Napi::Float32Array input(const Napi::Value& v, const char* name, size_t len) {
  Napi::Float32Array a = require_f32(v, name, len);
  require_finite(a, name);
  return a;
}

#ifdef HEADGRAD_WITH_CUDA
cuda::Precision precision(const AttnCall& c) {
  return c.bf16 ? cuda::Precision::BF16 : cuda::Precision::F32;
}
#else
[[noreturn]] void no_cuda() {
  throw_error("attention: device 'cuda' requested but this build has no CUDA backend "
              "(nvcc was not found when it was built)");
}
#endif

// One call's buffers and the kernel to run on them. Inputs stay referenced until the job is
// destroyed (after the worker finishes); outputs are plain heap arrays until to_js hands them
// to JS as external ArrayBuffers whose finalizers free them.
class Job {
 public:
  std::function<void()> run;

  const float* keep(const Napi::Float32Array& a) {
    inputs_.push_back(Napi::Persistent(a));
    return a.Data();
  }
  float* output(const char* name, size_t len) {
    outputs_.push_back({name, len, std::make_unique<float[]>(len)});
    return outputs_.back().data.get();
  }
  Napi::Object to_js(Napi::Env env) {
    Napi::Object result = Napi::Object::New(env);
    for (Output& o : outputs_) {
      const size_t len = o.len;
      auto buffer = Napi::ArrayBuffer::New(env, o.data.release(), len * sizeof(float),
                                           [](Napi::Env, void* p) { delete[] static_cast<float*>(p); });
      result.Set(o.name, Napi::Float32Array::New(env, len, buffer, 0));
    }
    return result;
  }

 private:
  struct Output {
    const char* name;
    size_t len;
    std::unique_ptr<float[]> data;
  };
  std::vector<Napi::Reference<Napi::Float32Array>> inputs_;
  std::vector<Output> outputs_;
};

std::unique_ptr<Job> forward_job(const Napi::CallbackInfo& info) {
  const AttnCall c = parse_call(info[3], info[4]);
  const size_t n = c.shape.numel();
  auto job = std::make_unique<Job>();
  const float* q = job->keep(input(info[0], "q", n));
  const float* k = job->keep(input(info[1], "k", n));
  const float* v = job->keep(input(info[2], "v", n));
  float* out = job->output("out", n);
  float* lse = job->output("lse", c.shape.rows());
  job->run = [=] {
    if (!c.cuda) return cpu::attention_forward(q, k, v, out, lse, c.shape, c.params);
#ifdef HEADGRAD_WITH_CUDA
    cuda::attention_forward_host(q, k, v, out, lse, c.shape, c.params, precision(c));
#else
    no_cuda();
#endif
  };
  return job;
}

std::unique_ptr<Job> backward_job(const Napi::CallbackInfo& info) {
  const AttnCall c = parse_call(info[6], info[7]);
  const size_t n = c.shape.numel();
  auto job = std::make_unique<Job>();
  const float* dout = job->keep(input(info[0], "dout", n));
  const float* q = job->keep(input(info[1], "q", n));
  const float* k = job->keep(input(info[2], "k", n));
  const float* v = job->keep(input(info[3], "v", n));
  const float* out = job->keep(input(info[4], "out", n));
  const float* lse = job->keep(input(info[5], "lse", c.shape.rows()));
  float* dq = job->output("dq", n);
  float* dk = job->output("dk", n);
  float* dv = job->output("dv", n);
  float* score = job->output("headScore", c.shape.B * c.shape.H);
  if (!c.capture) score = nullptr;  // headScore stays zero-filled
  job->run = [=] {
    if (!c.cuda)
      return cpu::attention_backward(dout, q, k, v, out, lse, dq, dk, dv, score, c.shape, c.params);
#ifdef HEADGRAD_WITH_CUDA
    cuda::attention_backward_host(dout, q, k, v, out, lse, dq, dk, dv, score, c.shape, c.params,
                                  precision(c));
#else
    no_cuda();
#endif
  };
  return job;
}

// Runs a Job off the main thread and settles a Promise with its outputs or its error (keeping
// the error's class: a kernel's RangeError stays a RangeError).
class JobWorker : public Napi::AsyncWorker {
 public:
  JobWorker(Napi::Env env, std::unique_ptr<Job> job)
      : Napi::AsyncWorker(env, "headgrad.attention"), job_(std::move(job)),
        deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      job_->run();
    } catch (const std::exception& e) {
      error_ = std::current_exception();
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(job_->to_js(Env())); }
  void OnError(const Napi::Error&) override {
    try {
      std::rethrow_exception(error_);
    } catch (const std::exception& e) {
      deferred_.Reject(to_js_error(Env(), e).Value());
    }
  }

 private:
  std::unique_ptr<Job> job_;
  Napi::Promise::Deferred deferred_;
  std::exception_ptr error_;
};

using JobFactory = std::unique_ptr<Job> (*)(const Napi::CallbackInfo&);

template <JobFactory make>
Napi::Value run_async(const Napi::CallbackInfo& info) {
  auto* worker = new JobWorker(info.Env(), make(info));  // owned by libuv once queued
  worker->Queue();
  return worker->promise();
}

template <JobFactory make>
Napi::Value run_sync(const Napi::CallbackInfo& info) {
  std::unique_ptr<Job> job = make(info);
  try {
    job->run();
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
