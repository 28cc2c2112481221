// GPTModel: the JS handle of one hg::GPT engine (lib/model.ts wraps it as the GPT class).
// Slow calls (create, forward, backward, step, generate) run in AsyncWorkers and return
// Promises; small ones are sync. Every argument is checked here again (lib/validate.ts holds
// the same bounds and checks first), inputs are copied when the call is made and checked on the
// copy (async_job.h), and a model allows one call at a time: a second call while a worker runs
// is refused with a clear error instead of racing on the engine's buffers. The backend is
// chosen by core/dispatch.h; this file only converts arguments.
#include <napi.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "addon/async_job.h"
#include "addon/napi_util.h"
#include "core/bf16.h"
#include "core/dispatch.h"
#include "core/file_read.h"
#include "core/finite.h"
#include "core/gpt.h"

namespace hg {
namespace addon {
namespace {

// An integer field in [lo, hi]; `dflt` when absent and optional.
int64_t int_field(const Napi::Object& o, const char* key, const char* ctx, int64_t lo, int64_t hi,
                  const int64_t* dflt = nullptr) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() && dflt) return *dflt;
  Napi::Env env = o.Env();
  const std::string what = std::string(ctx) + "." + key + ": expected an integer in [" +
                           js_number(env, static_cast<double>(lo)) + ", " + js_number(env, static_cast<double>(hi)) +
                           "], got " + (v.IsNumber() ? js_number(env, v.As<Napi::Number>().DoubleValue()) : describe(v));
  if (!v.IsNumber()) type_error(o.Env(), what);
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d) || d < static_cast<double>(lo) || d > static_cast<double>(hi))
    range_error(o.Env(), what);
  return static_cast<int64_t>(d);
}

// A number field in [lo, hi] (finite), `dflt` when absent. Bounds and the value are printed as
// JavaScript prints them, like lib/validate.ts does.
float num_field(const Napi::Object& o, const char* key, const char* ctx, double lo, double hi, double dflt) {
  Napi::Env env = o.Env();
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return static_cast<float>(dflt);
  const std::string what = std::string(ctx) + "." + key + ": expected a number in [" + js_number(env, lo) + ", " +
                           js_number(env, hi) + "], got " +
                           (v.IsNumber() ? js_number(env, v.As<Napi::Number>().DoubleValue()) : describe(v));
  if (!v.IsNumber()) type_error(env, what);
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= lo && d <= hi)) range_error(env, what);  // NaN fails both comparisons
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
  const std::string mlp = optional_choice(o, "mlp", "gelu", "gelu|swiglu|geglu", ctx);
  cfg.mlp = mlp == "swiglu" ? MlpKind::SwiGLU : mlp == "geglu" ? MlpKind::GeGLU : MlpKind::Gelu;
  cfg.qkv_bias = optional_bool(o, "qkvBias", true, ctx);
  cfg.linear_bias = optional_bool(o, "linearBias", true, ctx);
  cfg.tied = optional_bool(o, "tiedEmbeddings", true, ctx);
  cfg.D = int_field(o, "headDim", ctx, 1, 256, &zero);
  cfg.window = int_field(o, "slidingWindow", ctx, 0, int64_t{1} << 20, &zero);
  const std::string qk = optional_choice(o, "qkNorm", "none", "none|head|projection", ctx);
  cfg.qk_norm = qk == "head" ? QkNormKind::Head : qk == "projection" ? QkNormKind::Projection : QkNormKind::None;
  const std::string place = optional_choice(o, "normPlacement", "pre", "pre|post|both", ctx);
  cfg.norm_place = place == "post" ? NormPlacement::Post : place == "both" ? NormPlacement::Both : NormPlacement::Pre;
  cfg.norm_w_offset = optional_number(o, "normWeightOffset", 0.0, ctx);
  cfg.embed_scale = optional_number(o, "embedScale", 1.0, ctx);
  cfg.attn_softcap = optional_number(o, "attnSoftcap", 0.0, ctx);
  cfg.final_softcap = optional_number(o, "finalSoftcap", 0.0, ctx);
  cfg.query_scale = optional_number(o, "queryScale", 0.0, ctx);
  cfg.rope_local_theta = optional_number(o, "ropeLocalTheta", 0.0, ctx);
  Napi::Value lt = o.Get("layerTypes");
  if (!lt.IsUndefined() && !lt.IsNull()) {
    if (!lt.IsArray()) type_error(o.Env(), "config.layerTypes: expected an array of 'local' | 'global', got " + describe(lt));
    Napi::Array a = lt.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); ++i) {
      Napi::Value e = a.Get(i);
      const std::string s = e.IsString() ? e.As<Napi::String>().Utf8Value() : "";
      if (s != "local" && s != "global")
        range_error(o.Env(), "config.layerTypes[" + std::to_string(i) + "]: expected 'local' or 'global', got " + describe(e));
      cfg.local_layers.push_back(s == "local");
    }
  }
  Napi::Value rs = o.Get("ropeScaling");
  if (!rs.IsUndefined() && !rs.IsNull()) {
    const char* rctx = "config.ropeScaling";
    Napi::Object r = require_object(rs, rctx);
    const std::string type = optional_choice(r, "type", "", "linear|llama3|longrope", rctx);
    if (type.empty()) type_error(o.Env(), "config.ropeScaling.type: expected one of linear|llama3|longrope, got undefined");
    RopeScaling& sc = cfg.rope_scaling;
    sc.type = type == "linear" ? RopeScalingKind::Linear : type == "llama3" ? RopeScalingKind::Llama3 : RopeScalingKind::LongRope;
    if (sc.type == RopeScalingKind::LongRope) {
      // the lists' lengths and values are checked by validate_config, which knows the head size
      for (const auto& [key, list] : {std::pair<const char*, std::vector<double>*>{"shortFactor", &sc.short_factor},
                                      {"longFactor", &sc.long_factor}}) {
        Napi::Value v = r.Get(key);
        if (!v.IsArray()) type_error(o.Env(), std::string(rctx) + "." + key + ": expected an array of numbers, got " + describe(v));
        Napi::Array a = v.As<Napi::Array>();
        for (uint32_t i = 0; i < a.Length(); ++i) {
          Napi::Value e = a.Get(i);
          if (!e.IsNumber())
            type_error(o.Env(), std::string(rctx) + "." + key + "[" + std::to_string(i) + "]: expected a number, got " + describe(e));
          list->push_back(e.As<Napi::Number>().DoubleValue());
        }
      }
      for (const char* k : {"attentionFactor", "originalMaxPositions"})
        if (r.Get(k).IsUndefined()) type_error(o.Env(), std::string(rctx) + "." + k + ": expected a finite number, got undefined");
      sc.attention_factor = optional_number(r, "attentionFactor", 1.0, rctx);
      sc.original_max_positions = int_field(r, "originalMaxPositions", rctx, 1, int64_t{1} << 24);
    } else {
      if (r.Get("factor").IsUndefined()) type_error(o.Env(), "config.ropeScaling.factor: expected a finite number, got undefined");
      sc.factor = optional_number(r, "factor", 1.0, rctx);
    }
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

// Every element of `a` in [lo, hi); names the first one that is not. Runs on the copy that the
// engine will read, never on the caller's buffer.
void check_token_range(Napi::Env env, const HostArray<int32_t>& a, const char* name, int32_t lo, int64_t hi) {
  for (size_t i = 0; i < a.len; ++i) {
    if (a[i] < lo || a[i] >= hi)
      range_error(env, std::string(name) + "[" + std::to_string(i) + "]: expected a token id in [" +
                           std::to_string(lo) + ", " + std::to_string(hi) + "), got " + std::to_string(a[i]));
  }
}

class GPTModel;

// A Promise-returning worker bound to one model: marks it busy while queued or running and
// keeps the model object alive (PromiseWorker maps errors and never throws from OnOK).
class ModelWorker : public PromiseWorker {
 public:
  ModelWorker(Napi::Env env, GPTModel* model, const char* name);
  Napi::Promise Queue();

 protected:
  GPT& engine();

 private:
  void Settled() override;
  GPTModel* model_;
  Napi::ObjectReference model_ref_;
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
  static Napi::Value ActivationBytes(const Napi::CallbackInfo& info);
  Napi::Value Forward(const Napi::CallbackInfo& info);
  Napi::Value Backward(const Napi::CallbackInfo& info);
  Napi::Value Step(const Napi::CallbackInfo& info);
  Napi::Value SetTrainable(const Napi::CallbackInfo& info);
  Napi::Value ResidentBytes(const Napi::CallbackInfo& info);
  Napi::Value ImportParameterRangeBf16(const Napi::CallbackInfo& info);
  Napi::Value Generate(const Napi::CallbackInfo& info);
  Napi::Value SetHeadGates(const Napi::CallbackInfo& info);
  Napi::Value ExportParameters(const Napi::CallbackInfo& info);
  Napi::Value ImportParameters(const Napi::CallbackInfo& info);
  Napi::Value ExportParameterRange(const Napi::CallbackInfo& info);
  Napi::Value ImportParameterRange(const Napi::CallbackInfo& info);
  Napi::Value ImportFile(const Napi::CallbackInfo& info);
  Napi::Value ExportGradients(const Napi::CallbackInfo& info);
  Napi::Value ExportOptimizerState(const Napi::CallbackInfo& info);
  Napi::Value ImportOptimizerState(const Napi::CallbackInfo& info);
  Napi::Value Profile(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
};

ModelWorker::ModelWorker(Napi::Env env, GPTModel* model, const char* name)
    : PromiseWorker(env, name), model_(model), model_ref_(Napi::Persistent(model->Value())) {}

Napi::Promise ModelWorker::Queue() {
  model_->busy_ = true;
  Napi::AsyncWorker::Queue();
  return promise();
}

GPT& ModelWorker::engine() { return *model_->engine_; }

void ModelWorker::Settled() { model_->busy_ = false; }

// ---- create ---------------------------------------------------------------------------
// Builds the engine off the main thread, then wraps it in a new GPTModel (the constructor
// takes the engine through an External; JS code cannot construct one directly).
class CreateWorker : public PromiseWorker {
 public:
  CreateWorker(Napi::Env env, Napi::Function ctor, GPTConfig cfg, const Ops& ops, uint64_t seed, bool random_init)
      : PromiseWorker(env, "GPT.create"), ctor_(Napi::Persistent(ctor)), cfg_(cfg), ops_(ops), seed_(seed),
        random_init_(random_init) {}

 private:
  void Run() override {
    try {
      engine_ = std::make_unique<GPT>(cfg_, ops_, seed_, random_init_);
    } catch (const std::bad_alloc&) {
      throw_error("GPT.create: out of memory for a model of this size");
    }
  }
  // The External owns the engine only once the constructor has taken it: until then a failure
  // here leaves it in engine_, freed with this worker.
  Napi::Value Result(Napi::Env env) override {
    auto ext = Napi::External<GPT>::New(env, engine_.get());
    Napi::Value model = ctor_.Value().New({ext});
    engine_.release();
    return model;
  }

  Napi::FunctionReference ctor_;
  GPTConfig cfg_;
  const Ops& ops_;
  uint64_t seed_;
  bool random_init_;
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
  Backend backend;
  if (optional_choice(o, "device", "cpu", "cpu|cuda", "config") == "cuda") backend.device = Device::Cuda;
  if (optional_choice(o, "precision", "f32", "f32|bf16", "config") == "bf16") backend.precision = cuda::Precision::BF16;
  const Ops* ops = nullptr;
  try {
    ops = &engine_ops(backend, "GPT.create");
  } catch (const std::exception& e) {
    throw to_js_error(env, e);
  }
  // randomInit false (the loaders): zeros, since every parameter is imported next.
  const bool random_init = optional_bool(o, "randomInit", true, "config");
  auto* w = new CreateWorker(env, info.This().As<Napi::Function>(), cfg, *ops, seed, random_init);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

// An offset into the canonical parameter array: an integer in [0, max].
int64_t range_offset(const Napi::Value& v, const char* name, int64_t max) {
  const std::string what = std::string(name) + ": expected an integer in [0, " + std::to_string(max) + "], got ";
  if (!v.IsNumber()) type_error(v.Env(), what + describe(v));
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d) || d < 0 || d > static_cast<double>(max))
    range_error(v.Env(), what + js_number(v.Env(), d));
  return static_cast<int64_t>(d);
}

// GPTModel.activationBytes(config, rows, scoresOnly): the bytes of the activation arena a forward
// and backward over `rows` = batch·seqLen rows allocate, full or scores-only (lib/memory_plan.ts
// asks, never predicts).
Napi::Value GPTModel::ActivationBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const GPTConfig cfg = read_config(require_object(info[0], "config"));
  try {
    validate_config(cfg);
  } catch (const std::exception& e) {
    throw to_js_error(env, e);
  }
  const int64_t rows = range_offset(info[1], "rows", int64_t{1} << 40);
  if (!info[2].IsBoolean()) type_error(env, "activationBytes scoresOnly: expected a boolean, got " + describe(info[2]));
  return Napi::Number::New(env, static_cast<double>(GPT::activation_bytes(cfg, rows, info[2].As<Napi::Boolean>().Value())));
}

GPTModel::GPTModel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<GPTModel>(info) {
  if (info.Length() != 1 || !info[0].IsExternal())
    throw Napi::TypeError::New(info.Env(), "GPTModel: use GPTModel.create(config), not new");
  engine_.reset(info[0].As<Napi::External<GPT>>().Data());
}

// A copy of an Int32Array argument of `len` elements (checked by the caller on the copy).
HostArray<int32_t> i32_input(const Napi::Value& v, const char* name, size_t len) {
  return copy_input(require_i32(v, name, len), name);
}

// ---- forward ---------------------------------------------------------------------------
class ForwardWorker : public ModelWorker {
 public:
  ForwardWorker(Napi::Env env, GPTModel* m, HostArray<int32_t> tokens, HostArray<int32_t> targets,
                HostArray<float> weights, int64_t B, int64_t T, bool want_logits, bool scores_only)
      : ModelWorker(env, m, "GPT.forward"), tokens_(std::move(tokens)), targets_(std::move(targets)),
        weights_(std::move(weights)), B_(B), T_(T), want_logits_(want_logits), scores_only_(scores_only) {}

 private:
  void Run() override {
    if (want_logits_) logits_ = new_output<float>("logits", static_cast<size_t>(B_ * T_ * engine().config().V));
    loss_ = engine().forward(tokens_.get(), targets_.get(), weights_.get(), B_, T_, logits_.get(), scores_only_);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object r = Napi::Object::New(env);
    r.Set("loss", loss_);
    if (want_logits_) r.Set("logits", hand_over(env, logits_));
    return r;
  }
  HostArray<int32_t> tokens_, targets_;  // copies taken at call time; targets_ may be empty
  HostArray<float> weights_;
  int64_t B_, T_;
  bool want_logits_;
  bool scores_only_;
  HostArray<float> logits_;
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
  HostArray<int32_t> tokens = i32_input(info[0], "tokens (batch*seqLen)", N);
  check_token_range(env, tokens, "tokens", 0, c.V);
  Napi::Value targets_v = o.Get("targets"), weights_v = o.Get("lossWeights");
  HostArray<int32_t> targets;
  HostArray<float> weights;
  if (!targets_v.IsUndefined()) {
    targets = i32_input(targets_v, "targets (batch*seqLen)", N);
    check_token_range(env, targets, "targets", -1, c.V);
  }
  if (!weights_v.IsUndefined()) {
    if (targets_v.IsUndefined()) type_error(env, "forward options.lossWeights: needs targets as well");
    weights = copy_input(require_f32(weights_v, "lossWeights (batch*seqLen)", N), "lossWeights");
    for (size_t i = 0; i < N; ++i) {
      if (!std::isfinite(weights[i]) || weights[i] < 0.f)
        range_error(env, "lossWeights[" + std::to_string(i) + "]: expected a finite number >= 0, got " + js_number(env, weights[i]));
    }
  }
  const bool want_logits = optional_bool(o, "returnLogits", false, "forward options");
  const bool scores_only = optional_bool(o, "scoresOnly", false, "forward options");
  if (scores_only && (targets_v.IsUndefined() || want_logits))
    type_error(env, "forward options.scoresOnly: needs targets and cannot return logits (the LM head runs only at target positions)");
  auto* w = new ForwardWorker(env, this, std::move(tokens), std::move(targets), std::move(weights), B, T, want_logits,
                              scores_only);
  return w->Queue();
}

// ---- backward ----------------------------------------------------------------------------
class BackwardWorker : public ModelWorker {
 public:
  BackwardWorker(Napi::Env env, GPTModel* m, int64_t batch, bool scores_only)
      : ModelWorker(env, m, "GPT.backward"), batch_(batch), scores_only_(scores_only) {}

 private:
  void Run() override {
    const GPTConfig& c = engine().config();
    scores_ = new_output<float>("headScores", static_cast<size_t>(c.L * batch_ * c.H));  // [L,B,H]
    engine().backward(scores_.get(), scores_only_);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object r = Napi::Object::New(env);
    r.Set("headScores", hand_over(env, scores_));
    return r;
  }
  int64_t batch_;
  bool scores_only_;
  HostArray<float> scores_;
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
// The trainable set fields of o (trainableHeads, trainMlp, trainLayerNorm, trainEmbeddings);
// `dflt` (when given) if none of them is present.
Trainable read_trainable(const Napi::Object& o, GPT& g, const char* ctx, const Trainable* dflt) {
  Napi::Env env = o.Env();
  bool any = false;
  for (const char* k : {"trainableHeads", "trainMlp", "trainLayerNorm", "trainEmbeddings"}) any = any || !o.Get(k).IsUndefined();
  if (!any && dflt) return *dflt;
  Trainable t;
  Napi::Value heads = o.Get("trainableHeads");
  if (!heads.IsUndefined()) {
    const size_t n = static_cast<size_t>(g.config().L * g.config().H);
    if (!heads.IsTypedArray() || heads.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      type_error(env, std::string(ctx) + ".trainableHeads: expected a Uint8Array [layers*heads], got " + describe(heads));
    auto a = heads.As<Napi::Uint8Array>();
    if (a.ElementLength() != n)
      range_error(env, std::string(ctx) + ".trainableHeads: expected length layers*heads = " + std::to_string(n) +
                           ", got " + std::to_string(a.ElementLength()));
    t.heads.assign(a.Data(), a.Data() + n);
  }
  t.mlp = optional_bool(o, "trainMlp", false, ctx);
  t.layernorm = optional_bool(o, "trainLayerNorm", false, ctx);
  t.embeddings = optional_bool(o, "trainEmbeddings", false, ctx);
  return t;
}

class StepWorker : public ModelWorker {
 public:
  StepWorker(Napi::Env env, GPTModel* m, StepOptions o) : ModelWorker(env, m, "GPT.step"), o_(std::move(o)) {}

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
  // The bounds of lib/validate.ts STEP_BOUNDS (a test holds the two to the same messages).
  if (o.Get("lr").IsUndefined()) type_error(env, "step options.lr: expected a number in [0, 1000000000], got undefined");
  s.lr = num_field(o, "lr", ctx, 0, 1e9, 0);
  s.beta1 = num_field(o, "beta1", ctx, 0, 0.999999, 0.9);
  s.beta2 = num_field(o, "beta2", ctx, 0, 0.999999999, 0.999);
  s.eps = num_field(o, "eps", ctx, 1e-30, 1, 1e-8);
  s.weight_decay = num_field(o, "weightDecay", ctx, 0, 1e9, 0);
  s.grad_clip = num_field(o, "gradClip", ctx, 0, 1e30, 0);
  // Options that name no trainable set take the one given to setTrainable() (default: all).
  const Trainable t = read_trainable(o, g, ctx, &g.trainable());
  s.trainable_heads = t.heads;
  s.train_mlp = t.mlp;
  s.train_layernorm = t.layernorm;
  s.train_embeddings = t.embeddings;
  if (g.last_backward_scores_only())
    throw Napi::Error::New(env, "GPT.step: the last backward() was scoresOnly and formed no weight gradients; "
                                "run forward() and backward() without scoresOnly before step()");
  if (!g.has_gradients())
    throw Napi::Error::New(env, "GPT.step: needs a backward() first (one step per backward)");
  auto* w = new StepWorker(env, this, std::move(s));
  return w->Queue();
}

// setTrainable({ trainableHeads?, trainMlp?, trainLayerNorm?, trainEmbeddings? }): what later
// steps train (none of the fields: everything).
Napi::Value GPTModel::SetTrainable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GPT& g = ready(env);
  const Trainable t = read_trainable(require_object(info[0], "trainable"), g, "trainable", nullptr);
  try {
    g.set_trainable(t);
  } catch (const std::exception& e) {
    throw to_js_error(env, e);
  }
  return env.Undefined();
}

// residentBytes(): the engine's memory by kind (core/gpt.h ResidentBytes).
Napi::Value GPTModel::ResidentBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const hg::ResidentBytes b = ready(env).resident_bytes();
  Napi::Object r = Napi::Object::New(env);
  r.Set("weightsF32", static_cast<double>(b.weights_f32));
  r.Set("weightsBf16", static_cast<double>(b.weights_bf16));
  r.Set("vectorsF32", static_cast<double>(b.vectors_f32));
  r.Set("master", static_cast<double>(b.master));
  r.Set("grads", static_cast<double>(b.grads));
  r.Set("moments", static_cast<double>(b.moments));
  r.Set("activations", static_cast<double>(b.activations));
  r.Set("decode", static_cast<double>(b.decode));
  r.Set("other", static_cast<double>(b.other));
  return r;
}

// ---- generate -------------------------------------------------------------------------
class GenerateWorker : public ModelWorker {
 public:
  GenerateWorker(Napi::Env env, GPTModel* m, std::vector<int32_t> prompt, int64_t max_new, int32_t stop)
      : ModelWorker(env, m, "GPT.generate"), prompt_(std::move(prompt)), max_new_(max_new), stop_(stop) {}

 private:
  void Run() override {
    const std::vector<int32_t> tokens = engine().generate(prompt_, max_new_, stop_);
    out_ = new_output<int32_t>("tokens", tokens.size());
    if (!tokens.empty()) std::memcpy(out_.get(), tokens.data(), tokens.size() * sizeof(int32_t));
  }
  Napi::Value Result(Napi::Env env) override { return hand_over(env, out_); }
  std::vector<int32_t> prompt_;
  HostArray<int32_t> out_;
  int64_t max_new_;
  int32_t stop_;
};

Napi::Value GPTModel::Generate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GPT& g = ready(env);
  const GPTConfig& c = g.config();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    type_error(env, "prompt: expected an Int32Array, got " + describe(info[0]));
  const HostArray<int32_t> prompt = copy_input(info[0].As<Napi::Int32Array>(), "prompt");
  const int64_t n = static_cast<int64_t>(prompt.len);
  if (n < 1 || n > c.P)
    range_error(env, "prompt: expected 1 to maxSeqLen = " + std::to_string(c.P) + " tokens, got " + std::to_string(n));
  check_token_range(env, prompt, "prompt", 0, c.V);
  Napi::Object o = require_object(info[1], "generate options");
  const int64_t max_new = int_field(o, "maxNewTokens", "generate options", 0, c.P - n);
  const int64_t none = -1;
  const int64_t stop = int_field(o, "stopToken", "generate options", 0, c.V - 1, &none);
  auto* w = new GenerateWorker(env, this, std::vector<int32_t>(prompt.get(), prompt.get() + n), max_new,
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
    if (!std::isfinite(a[i])) range_error(env, "gates[" + std::to_string(i) + "]: expected a finite number, got " + js_number(env, a[i]));
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
    if (!std::isfinite(a[i])) range_error(env, "parameters[" + std::to_string(i) + "]: expected a finite number, got " + js_number(env, a[i]));
  g.import_parameters(a.Data());
  return env.Undefined();
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
  require_finite(env, a.Data(), a.ElementLength(), "data");
  g.import_parameter_range(offset, length, a.Data());
  return env.Undefined();
}

// importParameterRangeBf16(offset, bits): parameters [offset, offset+bits.length) = the bf16
// values whose bits `bits` holds (a Uint16Array, as a BF16 safetensors file stores them).
Napi::Value GPTModel::ImportParameterRangeBf16(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GPT& g = ready(env);
  const int64_t n = g.num_params();
  const int64_t offset = range_offset(info[0], "offset", n);
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint16_array)
    type_error(env, "bits: expected a Uint16Array of bf16 bits, got " + describe(info[1]));
  Napi::Uint16Array a = info[1].As<Napi::Uint16Array>();
  const int64_t length = static_cast<int64_t>(a.ElementLength());
  if (length > n - offset)
    range_error(env, "bits: offset " + std::to_string(offset) + " + length " + std::to_string(length) +
                         " exceeds the " + std::to_string(n) + " parameters");
  const size_t bad = first_non_finite_bf16(a.Data(), a.ElementLength());
  if (bad != a.ElementLength())
    range_error(env, "bits: expected finite bf16 values, got " + std::string((a[bad] & 0x7f) ? "NaN" : (a[bad] & 0x8000) ? "-Infinity" : "Infinity") +
                         " at index " + std::to_string(bad));
  g.import_parameter_range_bf16(offset, length, a.Data());
  return env.Undefined();
}

// ---- importFile ------------------------------------------------------------------------
// importFile(path, segments): the tensors of one checkpoint file straight from the disk into the
// parameters (core/file_read.h: direct reads, no copy through JS). segments: a Float64Array of
// [fileOffset, bytes, paramOffset, dtype] per tensor (dtype 0: F32, 1: BF16), in file order, not
// overlapping. Each value is checked for NaN/Inf once, on its way in. Resolves to {} or, when a
// value is not finite or the file ends early, { segment, element, value } / { segment, ended: true }
// (the caller names the tensor); parameters before that point are imported.
class ImportFileWorker : public ModelWorker {
 public:
  struct Segment {
    int64_t file_offset, bytes, param_offset;
    bool bf16;
  };
  ImportFileWorker(Napi::Env env, GPTModel* m, std::string path, std::vector<Segment> segs)
      : ModelWorker(env, m, "GPT.importFile"), path_(std::move(path)), segs_(std::move(segs)) {}

 private:
  void Run() override {
    GPT& g = engine();
    std::vector<FileSegment> fs;
    for (const Segment& s : segs_) fs.push_back({s.file_offset, s.bytes, s.bf16 ? 2 : 4});
    ended_ = read_segments(path_, fs, [&](size_t i, int64_t first, const uint8_t* data, int64_t count) {
      const Segment& seg = segs_[i];
      if (seg.bf16) {
        const uint16_t* v = reinterpret_cast<const uint16_t*>(data);
        const size_t bad = first_non_finite_bf16(v, static_cast<size_t>(count));
        if (bad != static_cast<size_t>(count)) return found(i, first + static_cast<int64_t>(bad), from_bf16(v[bad]));
        g.import_parameter_range_bf16(seg.param_offset + first, count, v);
      } else {
        const float* v = reinterpret_cast<const float*>(data);
        const size_t bad = first_non_finite(v, static_cast<size_t>(count));
        if (bad != static_cast<size_t>(count)) return found(i, first + static_cast<int64_t>(bad), v[bad]);
        g.import_parameter_range(seg.param_offset + first, count, v);
      }
      return true;
    });
  }
  bool found(size_t segment, int64_t element, float value) {
    bad_segment_ = static_cast<int64_t>(segment);
    bad_element_ = element;
    bad_value_ = value;
    return false;  // stops the read
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object r = Napi::Object::New(env);
    if (bad_segment_ >= 0) {
      r.Set("segment", static_cast<double>(bad_segment_));
      r.Set("element", static_cast<double>(bad_element_));
      r.Set("value", static_cast<double>(bad_value_));
    } else if (ended_ >= 0) {
      r.Set("segment", static_cast<double>(ended_));
      r.Set("ended", true);
    }
    return r;
  }
  std::string path_;
  std::vector<Segment> segs_;
  int64_t bad_segment_ = -1, bad_element_ = 0, ended_ = -1;
  float bad_value_ = 0.f;
};

Napi::Value GPTModel::ImportFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GPT& g = ready(env);
  if (!info[0].IsString()) type_error(env, "path: expected a string, got " + describe(info[0]));
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    type_error(env, "segments: expected a Float64Array, got " + describe(info[1]));
  Napi::Float64Array a = info[1].As<Napi::Float64Array>();
  if (a.ElementLength() == 0 || a.ElementLength() % 4 != 0)
    range_error(env, "segments: expected 4 numbers per tensor (fileOffset, bytes, paramOffset, dtype), got " + std::to_string(a.ElementLength()));
  std::vector<ImportFileWorker::Segment> segs;
  const int64_t n = g.num_params();
  for (size_t i = 0; i < a.ElementLength(); i += 4) {
    const double fo = a[i], bytes = a[i + 1], po = a[i + 2], dt = a[i + 3];
    const std::string at = "segments[" + std::to_string(i / 4) + "]";
    auto whole = [](double x) { return std::isfinite(x) && x >= 0 && x == std::floor(x) && x < 9007199254740992.0; };
    if (!whole(fo) || !whole(bytes) || !whole(po) || (dt != 0 && dt != 1))
      range_error(env, at + ": expected non-negative integers and dtype 0 (F32) or 1 (BF16)");
    const int64_t w = dt == 1 ? 2 : 4, count = static_cast<int64_t>(bytes) / w;
    if (static_cast<int64_t>(bytes) % w != 0 || static_cast<int64_t>(po) + count > n)
      range_error(env, at + ": " + std::to_string(count) + " values at parameter " + std::to_string(static_cast<int64_t>(po)) +
                           " do not fit the " + std::to_string(n) + " parameters");
    if (!segs.empty() && fo < static_cast<double>(segs.back().file_offset + segs.back().bytes))
      range_error(env, at + ": segments must be in file order and must not overlap");
    segs.push_back({static_cast<int64_t>(fo), static_cast<int64_t>(bytes), static_cast<int64_t>(po), dt == 1});
  }
  return (new ImportFileWorker(env, this, info[0].As<Napi::String>().Utf8Value(), std::move(segs)))->Queue();
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

// exportOptimizerState(): { m, v: Float32Array [numParams], step }: AdamW's moments (zero before
// the first step) and its step count.
Napi::Value GPTModel::ExportOptimizerState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GPT& g = ready(env);
  const size_t n = static_cast<size_t>(g.optimizer_state_size());
  auto m = Napi::Float32Array::New(env, n), v = Napi::Float32Array::New(env, n);
  Napi::Object r = Napi::Object::New(env);
  if (g.bf16_weights()) {
    auto master = Napi::Float32Array::New(env, n);
    g.export_optimizer_state(m.Data(), v.Data(), master.Data());
    r.Set("master", master);
  } else {
    g.export_optimizer_state(m.Data(), v.Data());
  }
  r.Set("m", m);
  r.Set("v", v);
  r.Set("step", static_cast<double>(g.optimizer_steps()));
  return r;
}

// importOptimizerState({ m, v, step }): m finite, v finite and >= 0 (a second moment), step an
// integer in [0, 2^53). Call after importParameters(), which resets the optimizer state.
Napi::Value GPTModel::ImportOptimizerState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GPT& g = ready(env);
  const char* ctx = "optimizer state";
  Napi::Object o = require_object(info[0], ctx);
  const size_t n = static_cast<size_t>(g.optimizer_state_size());
  Napi::Float32Array m = require_f32(o.Get("m"), "optimizer state.m", n);
  Napi::Float32Array v = require_f32(o.Get("v"), "optimizer state.v", n);
  const int64_t step = int_field(o, "step", ctx, 0, (int64_t{1} << 53) - 1);
  require_finite(env, m.Data(), n, "optimizer state.m");
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(v[i]) || v[i] < 0.f)
      range_error(env, "optimizer state.v[" + std::to_string(i) + "]: expected a finite number >= 0, got " + js_number(env, v[i]));
  const float* master = nullptr;
  Napi::Float32Array master_a;
  if (g.bf16_weights()) {  // a bf16 model's state covers its trainable set and carries the f32 masters
    master_a = require_f32(o.Get("master"), "optimizer state.master (a bf16 model's f32 masters)", n);
    require_finite(env, master_a.Data(), n, "optimizer state.master");
    master = master_a.Data();
  }
  g.import_optimizer_state(m.Data(), v.Data(), step, master);
  return env.Undefined();
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
  release_cached_memory();  // the scratch its ops grew (bounded, see cuda/scratch.cuh)
  return env.Undefined();
}

Napi::Function GPTModel::Define(Napi::Env env) {
  return DefineClass(env, "GPTModel",
                     {StaticMethod<&GPTModel::Create>("create"),
                      StaticMethod<&GPTModel::ActivationBytes>("activationBytes"),
                      InstanceMethod<&GPTModel::Forward>("forward"),
                      InstanceMethod<&GPTModel::Backward>("backward"),
                      InstanceMethod<&GPTModel::Step>("step"),
                      InstanceMethod<&GPTModel::SetTrainable>("setTrainable"),
                      InstanceMethod<&GPTModel::ResidentBytes>("residentBytes"),
                      InstanceMethod<&GPTModel::ImportParameterRangeBf16>("importParameterRangeBf16"),
                      InstanceMethod<&GPTModel::Generate>("generate"),
                      InstanceMethod<&GPTModel::SetHeadGates>("setHeadGates"),
                      InstanceMethod<&GPTModel::ExportParameters>("exportParameters"),
                      InstanceMethod<&GPTModel::ImportParameters>("importParameters"),
                      InstanceMethod<&GPTModel::ExportParameterRange>("exportParameterRange"),
                      InstanceMethod<&GPTModel::ImportParameterRange>("importParameterRange"),
                      InstanceMethod<&GPTModel::ImportFile>("importFile"),
                      InstanceMethod<&GPTModel::ExportGradients>("exportGradients"),
                      InstanceMethod<&GPTModel::ExportOptimizerState>("exportOptimizerState"),
                      InstanceMethod<&GPTModel::ImportOptimizerState>("importOptimizerState"),
                      InstanceMethod<&GPTModel::Profile>("profile"),
                      InstanceMethod<&GPTModel::Dispose>("dispose")});
}

}  // namespace

void InitGPT(Napi::Env env, Napi::Object exports) { exports.Set("GPTModel", GPTModel::Define(env)); }

}  // namespace addon
}  // namespace hg
