// Argument checks shared by every binding (the REQUIRE_* idea from better-sqlite3): each check
// throws a JS error that names the argument, what was expected and what was given.
#pragma once
#include <napi.h>

#include <cmath>
#include <string>

#include "core/errors.h"
#include "core/finite.h"

namespace hg {
namespace addon {

// A number as JavaScript prints it ("0", "1e-30", "2.5", "NaN"): messages quote values exactly
// as the caller wrote them, and bounds exactly as lib/validate.ts prints its own.
inline std::string js_number(Napi::Env env, double d) { return Napi::Number::New(env, d).ToString().Utf8Value(); }

// What a value is, for "expected X, got <describe>" messages; the same words as describe() in
// lib/validate.ts.
inline std::string describe(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsTypedArray()) {
    switch (v.As<Napi::TypedArray>().TypedArrayType()) {
      case napi_int8_array: return "Int8Array";
      case napi_uint8_array: return "Uint8Array";
      case napi_uint8_clamped_array: return "Uint8ClampedArray";
      case napi_int16_array: return "Int16Array";
      case napi_uint16_array: return "Uint16Array";
      case napi_int32_array: return "Int32Array";
      case napi_uint32_array: return "Uint32Array";
      case napi_float32_array: return "Float32Array";
      case napi_float64_array: return "Float64Array";
      case napi_bigint64_array: return "BigInt64Array";
      case napi_biguint64_array: return "BigUint64Array";
      default: return "a TypedArray";
    }
  }
  if (v.IsDataView()) return "DataView";
  if (v.IsArray()) return "Array";
  if (v.IsNumber()) return "number " + js_number(v.Env(), v.As<Napi::Number>().DoubleValue());
  if (v.IsString()) {
    Napi::Object json = v.Env().Global().Get("JSON").As<Napi::Object>();
    return "string " + json.Get("stringify").As<Napi::Function>().Call(json, {v}).As<Napi::String>().Utf8Value();
  }
  if (v.IsBoolean()) return "boolean";
  if (v.IsFunction()) return "function";
  if (v.IsBigInt()) return "bigint";
  if (v.IsSymbol()) return "symbol";
  return "object";
}

[[noreturn]] inline void type_error(Napi::Env env, const std::string& msg) {
  throw Napi::TypeError::New(env, msg);
}
[[noreturn]] inline void range_error(Napi::Env env, const std::string& msg) {
  throw Napi::RangeError::New(env, msg);
}

// A typed array of kind `type` (`expected` names it in the error) with exactly `len` elements.
template <class Array>
Array require_typed_array(const Napi::Value& v, const char* name, size_t len, napi_typedarray_type type,
                          const char* expected) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type)
    type_error(v.Env(), std::string(name) + ": expected " + expected + ", got " + describe(v));
  auto a = v.As<Array>();
  if (a.ElementLength() != len)
    range_error(v.Env(), std::string(name) + ": expected length " + std::to_string(len) + ", got " +
                             std::to_string(a.ElementLength()));
  return a;
}

inline Napi::Float32Array require_f32(const Napi::Value& v, const char* name, size_t len) {
  return require_typed_array<Napi::Float32Array>(v, name, len, napi_float32_array, "a Float32Array");
}

inline Napi::Int32Array require_i32(const Napi::Value& v, const char* name, size_t len) {
  return require_typed_array<Napi::Int32Array>(v, name, len, napi_int32_array, "an Int32Array");
}

// Every element finite: NaN or Inf in an input would silently poison every output row.
inline void require_finite(Napi::Env env, const float* a, size_t n, const char* name) {
  const size_t i = first_non_finite(a, n);
  if (i != n)
    range_error(env, std::string(name) + ": expected finite values, got " + js_number(env, a[i]) + " at index " +
                         std::to_string(i));
}

inline Napi::Object require_object(const Napi::Value& v, const char* name) {
  if (!v.IsObject() || v.IsArray() || v.IsTypedArray())
    type_error(v.Env(), std::string(name) + ": expected an object, got " + describe(v));
  return v.As<Napi::Object>();
}

// A positive integer that fits comfortably in int64 arithmetic.
inline int64_t require_pos_int(const Napi::Object& o, const char* key, const char* ctx) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) type_error(o.Env(), std::string(ctx) + "." + key + ": expected a positive integer, got " + describe(v));
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d < 1 || d != std::floor(d) || d > 1e9)
    range_error(o.Env(), std::string(ctx) + "." + key + ": expected a positive integer, got " + describe(v));
  return static_cast<int64_t>(d);
}

inline double optional_number(const Napi::Object& o, const char* key, double dflt, const char* ctx) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return dflt;
  if (!v.IsNumber() || !std::isfinite(v.As<Napi::Number>().DoubleValue()))
    type_error(o.Env(), std::string(ctx) + "." + key + ": expected a finite number, got " + describe(v));
  return v.As<Napi::Number>().DoubleValue();
}

inline bool optional_bool(const Napi::Object& o, const char* key, bool dflt, const char* ctx) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return dflt;
  if (!v.IsBoolean()) type_error(o.Env(), std::string(ctx) + "." + key + ": expected a boolean, got " + describe(v));
  return v.As<Napi::Boolean>().Value();
}

// An optional string that must be one of `choices` (given as "a|b|c").
inline std::string optional_choice(const Napi::Object& o, const char* key, const std::string& dflt,
                                   const std::string& choices, const char* ctx) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return dflt;
  const std::string got = v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
  const std::string padded = "|" + choices + "|";
  if (!v.IsString() || got.empty() || padded.find("|" + got + "|") == std::string::npos)
    type_error(o.Env(), std::string(ctx) + "." + key + ": expected one of " + choices + ", got " +
                            (v.IsString() ? "'" + got + "'" : describe(v)));
  return got;
}

// Converts an hg::Error (or any std::exception) into the matching JS error object.
inline Napi::Error to_js_error(Napi::Env env, const std::exception& e) {
  if (auto* he = dynamic_cast<const hg::Error*>(&e)) {
    if (he->kind == ErrorKind::Type) return Napi::TypeError::New(env, he->what());
    if (he->kind == ErrorKind::Range) return Napi::RangeError::New(env, he->what());
  }
  return Napi::Error::New(env, e.what());
}

}  // namespace addon
}  // namespace hg
