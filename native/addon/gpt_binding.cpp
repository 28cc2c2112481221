// GPTModel: the JS handle of one hg::GPT engine (lib/model.ts wraps it as the GPT class).
// Slow calls (create, forward, backward, step, generate) run in AsyncWorkers and return
// Promises; small ones are sync. Every argument is checked here again (lib/model.ts checks
// first), and a model allows one call at a time: a second call while a worker runs is refused
// with a clear error instead of racing on the engine's buffers.
#include <napi.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "addon/napi_util.h"
#include "core/gpt.h"
#include "core/ops.h"
#include "core/ops_cuda.h"
#include "cpu/gemm_bf16.h"

namespace hg {
namespace addon {
namespace {

// "7", "2.5", "NaN": a number as JS would print it (describe() gives six decimals).
std::string number_text(double d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", d);
  return buf;
}

// An integer field in [lo, hi]; `dflt` when absent and optional.
int64_t int_field(const Napi::Object& o, const char* key, const char* ctx, int64_t lo, int64_t hi,
                  const int64_t* dflt = nullptr) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() && dflt) return *dflt;
  const std::string what = std::string(ctx) + "." + key + ": expected an integer in [" + std::to_string(lo) +
                           ", " + std::to_string(hi) + "], got " +
                           (v.IsNumber() ? number_text(v.As<Napi::Number>().DoubleValue()) : describe(v));
  if (!v.IsNumber()) type_error(o.Env(), what);
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d) || d < static_cast<double>(lo) || d > static_cast<double>(hi))
    range_error(o.Env(), what);
  return static_cast<int64_t>(d);
}

// A number field in [lo, hi] (finite), `dflt` when absent.
float num_field(const Napi::Object& o, const char* key, const char* ctx, double lo, double hi, double dflt) {
  const double d = optional_number(o, key, dflt, ctx);
  if (d < lo || d > hi)
    range_error(o.Env(), std::string(ctx) + "." + key + ": expected a number in [" + std::to_string(lo) + ", " +
                             std::to_string(hi) + "], got " + std::to_string(d));
  return static_cast<float>(d);
}

// The model fields of a config object (lib/checkpoint/layout.ts GPTConfig); absent optional
// fields keep the GPT-2 defaults of hg::GPTConfig.
GPTConfig read_config(const Napi::Object& o) {
  const char* ctx = "config";
  GPTConfig cfg;
  cfg.V = require_pos_int(o, "vocabSize", ctx);
  cfg.P = require_pos_int(o, "maxSeqLen", ctx);
  cfg.L = require_pos_int(o, "layers", ctx);
  cfg.H = require_pos_int(o, "heads", ctx);
  cfg.C = require_pos_int(o, "dim", ctx);
  const int64_t zero = 0;
  cfg.KV = int_field(o, "kvHeads", ctx, 1, 1024, &zero);
  cfg.F = int_field(o, "ffnDim", ctx, 1, int64_t{1} << 20, &zero);
  cfg.norm = optional_choice(o, "norm", "layernorm", "layernorm|rmsnorm", ctx) == "rmsnorm" ? NormKind::RMSNorm
                                                                                             : NormKind::LayerNorm;
  cfg.norm_eps = optional_number(o, "normEps", 1e-5, ctx);
  cfg.positions = optional_choice(o, "positions", "learned", "learned|rope", ctx) == "rope" ? PosKind::Rope
                                                                                            : PosKind::Learned;
  cfg.rope_theta = optional_number(o, "ropeTheta", 10000.0, ctx);
  cfg.mlp = optional_choice(o, "mlp", "gelu", "gelu|swiglu", ctx) == "swiglu" ? MlpKind::SwiGLU : MlpKind::Gelu;
  cfg.qkv_bias = optional_bool(o, "qkvBias", true, ctx);
  cfg.linear_bias = optional_bool(o, "linearBias", true, ctx);
  cfg.tied = optional_bool(o, "tiedEmbeddings", true, ctx);
  Napi::Value rs = o.Get("ropeScaling");
  if (!rs.IsUndefined() && !rs.IsNull()) {
    const char* rctx = "config.ropeScaling";
    Napi::Object r = require_object(rs, rctx);
    const std::string type = optional_choice(r, "type", "", "linear|llama3", rctx);
    if (type.empty()) type_error(o.Env(), "config.ropeScaling.type: expected one of linear|llama3, got undefined");
    RopeScaling& sc = cfg.rope_scaling;
    sc.type = type == "linear" ? RopeScalingKind::Linear : RopeScalingKind::Llama3;
    if (r.Get("factor").IsUndefined()) type_error(o.Env(), "config.ropeScaling.factor: expected a finite number, got undefined");
    sc.factor = optional_number(r, "factor", 1.0, rctx);
    if (sc.type == RopeScalingKind::Llama3) {
      for (const char* k : {"lowFreqFactor", "highFreqFactor", "originalMaxPositions"})
        if (r.Get(k).IsUndefined()) type_error(o.Env(), std::string(rctx) + "." + k + ": expected a finite number, got undefined");
      sc.low_freq_factor = optional_number(r, "lowFreqFactor", 1.0, rctx);
      sc.high_freq_factor = optional_number(r, "highFreqFactor", 4.0, rctx);
      sc.original_max_positions = int_field(r, "originalMaxPositions", rctx, 1, int64_t{1} << 24);
    }
  }
  return cfg;
}

// Every element of `a` in [lo, hi); names the first one that is not.
void check_token_range(Napi::Env env, const Napi::Int32Array& a, const char* name, int32_t lo, int64_t hi) {
  for (size_t i = 0; i < a.ElementLength(); ++i) {
    if (a[i] < lo || a[i] >= hi)
      range_error(env, std::string(name) + "[" + std::to_string(i) + "]: expected a token id in [" +
                           std::to_string(lo) + ", " + std::to_string(hi) + "), got " + std::to_string(a[i]));
  }
}

Napi::Float32Array to_f32(Napi::Env env, const std::vector<float>& v) {
  auto a = Napi::Float32Array::New(env, v.size());
  if (!v.empty()) std::memcpy(a.Data(), v.data(), v.size() * sizeof(float));
  return a;
}

// The backend of a new model: config.device 'cpu' (default) or 'cuda', config.precision 'f32'
// (default) or 'bf16' (CUDA: tensor-core GEMMs and attention; CPU: the linear layers' GEMMs
// through oneDNN where the CPU has bf16 instructions, else f32, as backendInfo().cpu.bf16 says).
const Ops& engine_ops(const Napi::Object& o) {
  Napi::Env env = o.Env();
  const bool cuda = optional_choice(o, "device", "cpu", "cpu|cuda", "config") == "cuda";
  const bool bf16 = optional_choice(o, "precision", "f32", "f32|bf16", "config") == "bf16";
  if (!cuda) return bf16 && cpu::bf16_support().available ? cpu_ops_bf16() : cpu_ops();
#ifdef HEADGRAD_WITH_CUDA
  const cuda::Availability a = cuda::query();
  if (!a.available) throw Napi::Error::New(env, "GPT.create: device 'cuda' requested but " + a.reason);
  return cuda_ops(bf16 ? cuda::Precision::BF16 : cuda::Precision::F32);
#else
  throw Napi::Error::New(env, "GPT.create: device 'cuda' requested but this build has no CUDA backend "
                              "(nvcc was not found when it was built)");
#endif
}

class GPTModel;

// A Promise-returning worker bound to one model: marks it busy while queued or running, turns
// engine exceptions into the matching JS error class, and keeps the model object alive.
class ModelWorker : public Napi::AsyncWorker {
 public:
  ModelWorker(Napi::Env env, GPTModel* model);
  ~ModelWorker() override;
  Napi::Promise Queue();

 protected:
  virtual void Run() = 0;
  virtual Napi::Value Result(Napi::Env env) = 0;
  GPT& engine();

 private:
  void Execute() override {
    try {
      Run();
    } catch (const Error& e) {
      kind_ = e.kind;
      SetError(e.what());
    } catch (const std::bad_alloc&) {
      SetError("GPT: out of memory (the model, batch or seqLen is too large for this machine)");
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override;
  void OnError(const Napi::Error& e) override;

  Napi::Promise::Deferred deferred_;
  GPTModel* model_;
  Napi::ObjectReference model_ref_;
  ErrorKind kind_ = ErrorKind::Generic;
};

class GPTModel : public Napi::ObjectWrap<GPTModel> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit GPTModel(const Napi::CallbackInfo& info);

  std::unique_ptr<GPT> engine_;
  bool busy_ = false;

  // The engine, if this model may take a call now.
  GPT& ready(Napi::Env env) {
    if (!engine_) throw Napi::Error::New(env, "GPT: this model has been disposed");
    if (busy_) throw Napi::Error::New(env, "GPT: another call on this model is still running");
    return *engine_;
  }

 private:
  static Napi::Value Create(const Napi::CallbackInfo& info);
  Napi::Value Forward(const Napi::CallbackInfo& info);
  Napi::Value Backward(const Napi::CallbackInfo& info);
  Napi::Value Step(const Napi::CallbackInfo& info);
  Napi::Value Generate(const Napi::CallbackInfo& info);
  Napi::Value SetHeadGates(const Napi::CallbackInfo& info);
  Napi::Value ExportParameters(const Napi::CallbackInfo& info);
  Napi::Value ImportParameters(const Napi::CallbackInfo& info);
  Napi::Value ExportParameterRange(const Napi::CallbackInfo& info);
  Napi::Value ImportParameterRange(const Napi::CallbackInfo& info);
  Napi::Value ExportGradients(const Napi::CallbackInfo& info);
  Napi::Value Profile(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
};

ModelWorker::ModelWorker(Napi::Env env, GPTModel* model)
    : Napi::AsyncWorker(env, "headgrad:GPT"), deferred_(Napi::Promise::Deferred::New(env)), model_(model),
      model_ref_(Napi::Persistent(model->Value())) {}
ModelWorker::~ModelWorker() = default;

Napi::Promise ModelWorker::Queue() {
  model_->busy_ = true;
  Napi::AsyncWorker::Queue();
  return deferred_.Promise();
}

GPT& ModelWorker::engine() { return *model_->engine_; }

void ModelWorker::OnOK() {
  model_->busy_ = false;
  deferred_.Resolve(Result(Env()));
}

void ModelWorker::OnError(const Napi::Error& e) {
  model_->busy_ = false;
  const std::string msg = e.Message();
  if (kind_ == ErrorKind::Range) deferred_.Reject(Napi::RangeError::New(Env(), msg).Value());
  else if (kind_ == ErrorKind::Type) deferred_.Reject(Napi::TypeError::New(Env(), msg).Value());
  else deferred_.Reject(e.Value());
}

// ---- create ---------------------------------------------------------------------------
// Builds the engine off the main thread, then wraps it in a new GPTModel (the constructor
// takes the engine through an External; JS code cannot construct one directly).
class CreateWorker : public Napi::AsyncWorker {
 public:
  CreateWorker(Napi::Env env, Napi::Function ctor, GPTConfig cfg, const Ops& ops, uint64_t seed)
      : Napi::AsyncWorker(env, "headgrad:GPT.create"), deferred_(Napi::Promise::Deferred::New(env)),
        ctor_(Napi::Persistent(ctor)), cfg_(cfg), ops_(ops), seed_(seed) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

 private:
  void Execute() override {
    try {
      engine_ = std::make_unique<GPT>(cfg_, ops_, seed_);
    } catch (const std::bad_alloc&) {
      SetError("GPT.create: out of memory for a model of this size");
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override {
    auto ext = Napi::External<GPT>::New(Env(), engine_.release());
    deferred_.Resolve(ctor_.Value().New({ext}));
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

  Napi::Promise::Deferred deferred_;
  Napi::FunctionReference ctor_;
  GPTConfig cfg_;
  const Ops& ops_;
  uint64_t seed_;
  std::unique_ptr<GPT> engine_;
};

Napi::Value GPTModel::Create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info.This().IsFunction()) type_error(env, "GPTModel.create: call it as GPTModel.create(config)");
  Napi::Object o = require_object(info[0], "config");
  const GPTConfig cfg = read_config(o);
  const int64_t zero = 0;
  const uint64_t seed = static_cast<uint64_t>(int_field(o, "seed", "config", 0, (int64_t{1} << 53) - 1, &zero));
  try {
    validate_config(cfg);
  } catch (const std::exception& e) {
    throw to_js_error(env, e);
  }
  const Ops& ops = engine_ops(o);
  auto* w = new CreateWorker(env, info.This().As<Napi::Function>(), cfg, ops, seed);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

GPTModel::GPTModel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<GPTModel>(info) {
  if (info.Length() != 1 || !info[0].IsExternal())
    throw Napi::TypeError::New(info.Env(), "GPTModel: use GPTModel.create(config), not new");
  engine_.reset(info[0].As<Napi::External<GPT>>().Data());
}

// ---- forward ---------------------------------------------------------------------------
class ForwardWorker : public ModelWorker {
 public:
  ForwardWorker(Napi::Env env, GPTModel* m, Napi::Int32Array tokens, Napi::Value targets,
                Napi::Value weights, int64_t B, int64_t T, bool want_logits, bool scores_only)
      : ModelWorker(env, m), B_(B), T_(T), want_logits_(want_logits), scores_only_(scores_only) {
    keep_.push_back(Napi::Persistent(tokens.As<Napi::Object>()));
    tokens_ = tokens.Data();
    if (!targets.IsUndefined()) {
      keep_.push_back(Napi::Persistent(targets.As<Napi::Object>()));
      targets_ = targets.As<Napi::Int32Array>().Data();
    }
    if (!weights.IsUndefined()) {
      keep_.push_back(Napi::Persistent(weights.As<Napi::Object>()));
      weights_ = weights.As<Napi::Float32Array>().Data();
    }
  }

 private:
  void Run() override {
    if (want_logits_) logits_.resize(static_cast<size_t>(B_ * T_ * engine().config().V));
    loss_ = engine().forward(tokens_, targets_, weights_, B_, T_, want_logits_ ? logits_.data() : nullptr, scores_only_);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object r = Napi::Object::New(env);
    r.Set("loss", loss_);
    if (want_logits_) r.Set("logits", to_f32(env, logits_));
    return r;
  }
  std::vector<Napi::ObjectReference> keep_;  // the input buffers stay alive until we finish
  const int32_t* tokens_ = nullptr;
  const int32_t* targets_ = nullptr;
  const float* weights_ = nullptr;
  int64_t B_, T_;
  bool want_logits_;
  bool scores_only_;
  std::vector<float> logits_;
  double loss_ = 0;
};

Napi::Value GPTModel::Forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GPT& g = ready(env);
  const GPTConfig& c = g.config();
  Napi::Object o = require_object(info[1], "forward options");
  const int64_t B = require_pos_int(o, "batch", "forward options");
  const int64_t T = int_field(o, "seqLen", "forward options", 1, c.P);
  const size_t N = static_cast<size_t>(B * T);
  Napi::Int32Array tokens = require_i32(info[0], "tokens (batch*seqLen)", N);
  check_token_range(env, tokens, "tokens", 0, c.V);
  Napi::Value targets = o.Get("targets"), weights = o.Get("lossWeights");
  if (!targets.IsUndefined()) check_token_range(env, require_i32(targets, "targets (batch*seqLen)", N), "targets", -1, c.V);
  if (!weights.IsUndefined()) {
    if (targets.IsUndefined()) type_error(env, "forward options.lossWeights: needs targets as well");
    Napi::Float32Array w = require_f32(weights, "lossWeights (batch*seqLen)", N);
    for (size_t i = 0; i < N; ++i) {
      if (!std::isfinite(w[i]) || w[i] < 0.f)
        range_error(env, "lossWeights[" + std::to_string(i) + "]: expected a finite number >= 0, got " + std::to_string(w[i]));
    }
  }
  const bool want_logits = optional_bool(o, "returnLogits", false, "forward options");
  const bool scores_only = optional_bool(o, "scoresOnly", false, "forward options");
  if (scores_only && (targets.IsUndefined() || want_logits))
    type_error(env, "forward options.scoresOnly: needs targets and cannot return logits (the LM head runs only at target positions)");
  auto* w = new ForwardWorker(env, this, tokens, targets, weights, B, T, want_logits, scores_only);
  return w->Queue();
}

// ---- backward ----------------------------------------------------------------------------
class BackwardWorker : public ModelWorker {
 public:
  BackwardWorker(Napi::Env env, GPTModel* m, int64_t batch, bool scores_only)
      : ModelWorker(env, m), batch_(batch), scores_only_(scores_only) {}

 private:
  void Run() override {
    const GPTConfig& c = engine().config();
    scores_.resize(static_cast<size_t>(c.L * batch_ * c.H));  // [L,B,H]
    engine().backward(scores_.data(), scores_only_);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object r = Napi::Object::New(env);
    r.Set("headScores", to_f32(env, scores_));
    return r;
  }
  int64_t batch_;
  bool scores_only_;
  std::vector<float> scores_;
};

Napi::Value GPTModel::Backward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GPT& g = ready(env);
  if (!g.has_forward_with_targets())
    throw Napi::Error::New(env, "GPT.backward: needs a forward() with targets first (one backward per forward)");
  bool scores_only = false;
  if (info.Length() > 0 && !info[0].IsUndefined())
    scores_only = optional_bool(require_object(info[0], "backward options"), "scoresOnly", false, "backward options");
  if (!scores_only && g.last_forward_scores_only())
    throw Napi::Error::New(env, "GPT.backward: the forward() was scoresOnly (logits at target positions only); "
                                "pass { scoresOnly: true } or run a forward() without scoresOnly");
  auto* w = new BackwardWorker(env, this, g.last_batch(), scores_only);
  return w->Queue();
}

// ---- step -----------------------------------------------------------------------------
class StepWorker : public ModelWorker {
 public:
  StepWorker(Napi::Env env, GPTModel* m, StepOptions o) : ModelWorker(env, m), o_(std::move(o)) {}

 private:
  void Run() override { engine().step(o_); }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }
  StepOptions o_;
};

Napi::Value GPTModel::Step(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GPT& g = ready(env);
  const char* ctx = "step options";
  Napi::Object o = require_object(info[0], ctx);
  StepOptions s;
  if (o.Get("lr").IsUndefined()) type_error(env, "step options.lr: expected a finite number >= 0, got undefined");
  s.lr = num_field(o, "lr", ctx, 0, 1e9, 0);
  s.beta1 = num_field(o, "beta1", ctx, 0, 0.999999, 0.9);
  s.beta2 = num_field(o, "beta2", ctx, 0, 0.999999999, 0.999);
  s.eps = num_field(o, "eps", ctx, 1e-30, 1, 1e-8);
  s.weight_decay = num_field(o, "weightDecay", ctx, 0, 1e9, 0);
  s.grad_clip = num_field(o, "gradClip", ctx, 0, 1e30, 0);
  Napi::Value heads = o.Get("trainableHeads");
  if (!heads.IsUndefined()) {
    const size_t n = static_cast<size_t>(g.config().L * g.config().H);
    if (!heads.IsTypedArray() || heads.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      type_error(env, "step options.trainableHeads: expected a Uint8Array [layers*heads], got " + describe(heads));
    auto a = heads.As<Napi::Uint8Array>();
    if (a.ElementLength() != n)
      range_error(env, "step options.trainableHeads: expected length layers*heads = " + std::to_string(n) +
                           ", got " + std::to_string(a.ElementLength()));
    s.trainable_heads.assign(a.Data(), a.Data() + n);
  }
  s.train_mlp = optional_bool(o, "trainMlp", false, ctx);
  s.train_layernorm = optional_bool(o, "trainLayerNorm", false, ctx);
  s.train_embeddings = optional_bool(o, "trainEmbeddings", false, ctx);
  if (g.last_backward_scores_only())
    throw Napi::Error::New(env, "GPT.step: the last backward() was scoresOnly and formed no weight gradients; "
                                "run forward() and backward() without scoresOnly before step()");
  if (!g.has_gradients())
    throw Napi::Error::New(env, "GPT.step: needs a backward() first (one step per backward)");
  auto* w = new StepWorker(env, this, std::move(s));
  return w->Queue();
}

// ---- generate -------------------------------------------------------------------------
class GenerateWorker : public ModelWorker {
 public:
  GenerateWorker(Napi::Env env, GPTModel* m, std::vector<int32_t> prompt, int64_t max_new, int32_t stop)
      : ModelWorker(env, m), prompt_(std::move(prompt)), max_new_(max_new), stop_(stop) {}

 private:
  void Run() override { out_ = engine().generate(prompt_, max_new_, stop_); }
  Napi::Value Result(Napi::Env env) override {
    auto a = Napi::Int32Array::New(env, out_.size());
    if (!out_.empty()) std::memcpy(a.Data(), out_.data(), out_.size() * sizeof(int32_t));
    return a;
  }
  std::vector<int32_t> prompt_, out_;
  int64_t max_new_;
  int32_t stop_;
};

Napi::Value GPTModel::Generate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GPT& g = ready(env);
  const GPTConfig& c = g.config();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    type_error(env, "prompt: expected an Int32Array, got " + describe(info[0]));
  auto prompt = info[0].As<Napi::Int32Array>();
  const int64_t n = static_cast<int64_t>(prompt.ElementLength());
  if (n < 1 || n > c.P)
    range_error(env, "prompt: expected 1 to maxSeqLen = " + std::to_string(c.P) + " tokens, got " + std::to_string(n));
  check_token_range(env, prompt, "prompt", 0, c.V);
  Napi::Object o = require_object(info[1], "generate options");
  const int64_t max_new = int_field(o, "maxNewTokens", "generate options", 0, c.P - n);
  const int64_t none = -1;
  const int64_t stop = int_field(o, "stopToken", "generate options", 0, c.V - 1, &none);
  auto* w = new GenerateWorker(env, this, std::vector<int32_t>(prompt.Data(), prompt.Data() + n), max_new,
                               static_cast<int32_t>(stop));
  return w->Queue();
}

// ---- sync helpers ----------------------------------------------------------------------
Napi::Value GPTModel::SetHeadGates(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GPT& g = ready(env);
  const size_t n = static_cast<size_t>(g.config().L * g.config().H);
  Napi::Float32Array a = require_f32(info[0], "gates (layers*heads)", n);
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(a[i])) range_error(env, "gates[" + std::to_string(i) + "]: expected a finite number, got " + std::to_string(a[i]));
  g.set_head_gates(a.Data());
  return env.Undefined();
}

Napi::Value GPTModel::ExportParameters(const Napi::CallbackInfo& info) {
  GPT& g = ready(info.Env());
  auto a = Napi::Float32Array::New(info.Env(), static_cast<size_t>(g.num_params()));
  g.export_parameters(a.Data());
  return a;
}

Napi::Value GPTModel::ImportParameters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GPT& g = ready(env);
  Napi::Float32Array a = require_f32(info[0], "parameters", static_cast<size_t>(g.num_params()));
  for (size_t i = 0; i < a.ElementLength(); ++i)
    if (!std::isfinite(a[i])) range_error(env, "parameters[" + std::to_string(i) + "]: expected a finite number, got " + std::to_string(a[i]));
  g.import_parameters(a.Data());
  return env.Undefined();
}

// An offset into the canonical parameter array: an integer in [0, max].
int64_t range_offset(const Napi::Value& v, const char* name, int64_t max) {
  const std::string what = std::string(name) + ": expected an integer in [0, " + std::to_string(max) + "], got ";
  if (!v.IsNumber()) type_error(v.Env(), what + describe(v));
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d) || d < 0 || d > static_cast<double>(max))
    range_error(v.Env(), what + number_text(d));
  return static_cast<int64_t>(d);
}

// exportParameterRange(offset, length): a copy of parameters [offset, offset+length).
Napi::Value GPTModel::ExportParameterRange(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GPT& g = ready(env);
  const int64_t n = g.num_params();
  const int64_t offset = range_offset(info[0], "offset", n);
  const int64_t length = range_offset(info[1], "length", n - offset);
  auto a = Napi::Float32Array::New(env, static_cast<size_t>(length));
  g.export_parameter_range(offset, length, a.Data());
  return a;
}

// importParameterRange(offset, data): parameters [offset, offset+data.length) = data.
Napi::Value GPTModel::ImportParameterRange(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GPT& g = ready(env);
  const int64_t n = g.num_params();
  const int64_t offset = range_offset(info[0], "offset", n);
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    type_error(env, "data: expected a Float32Array, got " + describe(info[1]));
  Napi::Float32Array a = info[1].As<Napi::Float32Array>();
  const int64_t length = static_cast<int64_t>(a.ElementLength());
  if (length > n - offset)
    range_error(env, "data: offset " + std::to_string(offset) + " + length " + std::to_string(length) +
                         " exceeds the " + std::to_string(n) + " parameters");
  require_finite(a, "data");
  g.import_parameter_range(offset, length, a.Data());
  return env.Undefined();
}

Napi::Value GPTModel::ExportGradients(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GPT& g = ready(env);
  if (g.last_backward_scores_only())
    throw Napi::Error::New(env, "GPT.exportGradients: the last backward() was scoresOnly and formed no weight gradients");
  if (!g.has_gradients()) throw Napi::Error::New(env, "GPT.exportGradients: needs a backward() first");
  auto a = Napi::Float32Array::New(env, static_cast<size_t>(g.num_params()));
  g.export_gradients(a.Data());
  return a;
}

// null when profiling is off (HEADGRAD_PROFILE=1 at create), else { ms: {op: ms}, gemmFlops }.
// profile(true) also resets the counters.
Napi::Value GPTModel::Profile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Profiler& p = ready(env).profiler();
  if (!p.enabled()) return env.Null();
  Napi::Object ms = Napi::Object::New(env);
  for (size_t k = 0; k < kOpKindNames.size(); ++k) ms.Set(kOpKindNames[k], p.ms(static_cast<OpKind>(k)));
  Napi::Object r = Napi::Object::New(env);
  r.Set("ms", ms);
  r.Set("gemmFlops", p.gemm_flops());
  if (info[0].IsBoolean() && info[0].As<Napi::Boolean>().Value()) p.reset();
  return r;
}

Napi::Value GPTModel::Dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!engine_) return env.Undefined();  // disposing twice is harmless
  ready(env);
  engine_.reset();
  return env.Undefined();
}

Napi::Function GPTModel::Define(Napi::Env env) {
  return DefineClass(env, "GPTModel",
                     {StaticMethod<&GPTModel::Create>("create"),
                      InstanceMethod<&GPTModel::Forward>("forward"),
                      InstanceMethod<&GPTModel::Backward>("backward"),
                      InstanceMethod<&GPTModel::Step>("step"),
                      InstanceMethod<&GPTModel::Generate>("generate"),
                      InstanceMethod<&GPTModel::SetHeadGates>("setHeadGates"),
                      InstanceMethod<&GPTModel::ExportParameters>("exportParameters"),
                      InstanceMethod<&GPTModel::ImportParameters>("importParameters"),
                      InstanceMethod<&GPTModel::ExportParameterRange>("exportParameterRange"),
                      InstanceMethod<&GPTModel::ImportParameterRange>("importParameterRange"),
                      InstanceMethod<&GPTModel::ExportGradients>("exportGradients"),
                      InstanceMethod<&GPTModel::Profile>("profile"),
                      InstanceMethod<&GPTModel::Dispose>("dispose")});
}

}  // namespace

void InitGPT(Napi::Env env, Napi::Object exports) { exports.Set("GPTModel", GPTModel::Define(env)); }

}  // namespace addon
}  // namespace hg
