// Ownership rules shared by every binding:
//   - inputs are copied when the call is made (copy_input), and validated on the copy, so a
//     caller that refills its buffers right after the call changes nothing, and what was checked
//     is exactly what the kernels read;
//   - outputs are allocated on the worker thread (new_output), where a failed allocation becomes
//     a rejected Promise, and handed to JS without a copy as external ArrayBuffers whose
//     finalizers free them (hand_over);
//   - PromiseWorker never lets an exception escape OnOK/OnError: if building the result fails,
//     the Promise is rejected with that error instead.
// Test hook: HEADGRAD_TEST_FAIL_OUTPUT_ALLOC=1 (read once, when the addon loads) makes every
// new_output() fail as if memory were exhausted, so the rejection path can be tested.
#pragma once
#include <napi.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>

#include "addon/napi_util.h"
#include "core/errors.h"

namespace hg {
namespace addon {

// A host array owned by one call: an input copy or an output on its way to JS.
template <class T>
struct HostArray {
  std::unique_ptr<T[]> data;
  size_t len = 0;
  T* get() const { return data.get(); }
  T& operator[](size_t i) const { return data[i]; }
};

inline bool fail_output_alloc() {
  static const bool fail = [] {
    const char* s = std::getenv("HEADGRAD_TEST_FAIL_OUTPUT_ALLOC");
    return s && std::strcmp(s, "1") == 0;
  }();
  return fail;
}

inline std::string byte_count(size_t count, size_t elem) {
  return std::to_string(count) + " elements, " + std::to_string(count * elem) + " bytes";
}

// A copy of `a` taken now (on the calling thread). Throws a JS RangeError naming `name` when
// the copy cannot be allocated.
template <class T>
HostArray<T> copy_input(const Napi::TypedArrayOf<T>& a, const char* name) {
  HostArray<T> h;
  h.len = a.ElementLength();
  h.data.reset(new (std::nothrow) T[h.len == 0 ? 1 : h.len]);
  if (!h.data)
    range_error(a.Env(), std::string(name) + ": out of memory copying the input (" + byte_count(h.len, sizeof(T)) + ")");
  if (h.len) std::memcpy(h.data.get(), a.Data(), h.len * sizeof(T));
  return h;
}

// A zero-filled output of `len` elements, allocated on the worker thread. Throws hg::Error
// naming `name` and the size when memory is exhausted.
template <class T>
HostArray<T> new_output(const char* name, size_t len) {
  HostArray<T> h;
  h.len = len;
  if (!fail_output_alloc()) h.data.reset(new (std::nothrow) T[len == 0 ? 1 : len]());
  if (!h.data) throw_error(std::string("out of memory allocating the output ") + name + " (" + byte_count(len, sizeof(T)) + ")");
  return h;
}

// Hands `h` to JS as a typed array over an external ArrayBuffer (no copy); its finalizer frees
// the memory. `h` is emptied only once JS owns the memory.
// The size is reported to V8 as external memory (and taken back by the finalizer), so that the
// garbage collector runs as often as these buffers, not only the small JS objects, require.
template <class T>
Napi::TypedArrayOf<T> hand_over(Napi::Env env, HostArray<T>& h) {
  const size_t bytes = h.len * sizeof(T);
  auto buffer = Napi::ArrayBuffer::New(
      env, h.data.get(), bytes,
      [](Napi::Env e, void* p, size_t* size) {
        delete[] static_cast<T*>(p);
        Napi::MemoryManagement::AdjustExternalMemory(e, -static_cast<int64_t>(*size));
        delete size;
      },
      new size_t(bytes));
  h.data.release();
  Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(bytes));
  return Napi::TypedArrayOf<T>::New(env, h.len, buffer, 0);
}

// A Promise settled by work done off the main thread. Subclasses implement Run() (worker
// thread; may throw) and Result() (main thread; may throw: the Promise is then rejected with
// that error). Settled() runs on the main thread once, before the Promise settles.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, const char* name)
      : Napi::AsyncWorker(env, name), name_(name), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  virtual void Run() = 0;
  virtual Napi::Value Result(Napi::Env env) = 0;
  virtual void Settled() {}

 private:
  void Execute() override {
    try {
      Run();
    } catch (const std::bad_alloc&) {
      error_ = std::make_exception_ptr(Error(ErrorKind::Generic, std::string(name_) + ": out of memory"));
      SetError("out of memory");
    } catch (const std::exception& e) {
      error_ = std::current_exception();
      SetError(e.what());
    } catch (...) {
      error_ = std::make_exception_ptr(Error(ErrorKind::Generic, std::string(name_) + ": unknown error"));
      SetError("unknown error");
    }
  }
  void OnOK() override {
    Settled();
    try {
      deferred_.Resolve(Result(Env()));
    } catch (const Napi::Error& e) {
      reject([&] { return e.Value(); });
    } catch (const std::exception& e) {
      reject([&] { return to_js_error(Env(), e).Value(); });
    }
  }
  void OnError(const Napi::Error& fallback) override {
    Settled();
    try {
      std::rethrow_exception(error_);
    } catch (const std::exception& e) {
      reject([&] { return to_js_error(Env(), e).Value(); });
    } catch (...) {
      reject([&] { return fallback.Value(); });
    }
  }
  // Rejects with the error `make` builds; if even that fails, with a plain Error.
  template <class Make>
  void reject(Make make) {
    try {
      deferred_.Reject(make());
    } catch (...) {
      try {
        deferred_.Reject(Napi::Error::New(Env(), std::string(name_) + ": the result could not be returned").Value());
      } catch (...) {
        // Only a terminating environment refuses a rejection; nothing is left to tell.
      }
    }
  }

  const char* name_;
  Napi::Promise::Deferred deferred_;
  std::exception_ptr error_;
};

}  // namespace addon
}  // namespace hg
