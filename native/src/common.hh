// Shared plumbing of the Weir native addon: the error type every failing step raises, an owning
// file descriptor, and the per-addon data (constructors) kept in napi instance data.
#pragma once

#include <napi.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <unistd.h>

namespace weir {

// A failed system step. Internal code throws this (from any thread); the JS boundary turns it into
// a `NativeError` with `step`, `errno` and a message naming the step, the target and strerror.
struct SysError {
  std::string step;
  int err;              // positive errno
  std::string context;  // e.g. "on eth0 in /var/run/netns/x"; may be empty
  std::string detail;   // extra text (libbpf log tail); may be empty

  std::string Message() const;
};

// Throws SysError when rc < 0. libbpf 1.x and our syscall wrappers return -errno.
inline int Check(int rc, const char* step, const std::string& context = "") {
  if (rc < 0) throw SysError{step, -rc, context, ""};
  return rc;
}
// For raw syscalls that return -1 and set errno.
inline int CheckSys(int rc, const char* step, const std::string& context = "") {
  if (rc < 0) throw SysError{step, errno, context, ""};
  return rc;
}

// Owning fd: closed exactly once, movable, never copied.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd_(o.Release()) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) Reset(o.Release());
    return *this;
  }
  ~Fd() { Reset(); }
  int Get() const { return fd_; }
  bool Valid() const { return fd_ >= 0; }
  int Release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

struct AddonData {
  Napi::FunctionReference nativeError;  // the TypeScript NativeError class, given at init
  Napi::FunctionReference bpfObjectCtor;
  Napi::FunctionReference bpfProgramCtor;
  Napi::FunctionReference bpfMapCtor;
  Napi::FunctionReference ringBufferCtor;
  Napi::FunctionReference linkWatchCtor;
};

AddonData& Data(Napi::Env env);

// Builds the JS NativeError for a SysError (falls back to a plain Error before init).
Napi::Error ToJsError(Napi::Env env, const SysError& e);
[[noreturn]] void ThrowJs(Napi::Env env, const SysError& e);

// Runs fn, converting a SysError into a thrown JS NativeError.
template <typename F>
auto Guard(Napi::Env env, F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const SysError& e) {
    ThrowJs(env, e);
  }
}

// libbpf's log for the current thread while a capture is active (verifier output on load errors).
class LibbpfLogCapture {
 public:
  LibbpfLogCapture();
  ~LibbpfLogCapture();
  std::string Tail(size_t maxBytes) const;
};
void InstallLibbpfPrint();

std::string NetnsLabel(const std::string* netnsPath);

// Argument helpers: throw a JS TypeError naming the argument.
std::string StringArg(const Napi::Value& v, const char* what);
Napi::Buffer<uint8_t> BufferArg(const Napi::Value& v, const char* what);

}  // namespace weir
