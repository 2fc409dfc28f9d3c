// NativeError construction and libbpf log capture.
#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

#include "common.hh"

namespace weir {

std::string SysError::Message() const {
  std::string m = step;
  if (!context.empty()) m += " " + context;
  m += ": ";
  m += std::strerror(err);
  m += " (errno " + std::to_string(err) + ")";
  if (!detail.empty()) m += "\n" + detail;
  return m;
}

AddonData& Data(Napi::Env env) {
  return *env.GetInstanceData<AddonData>();
}

Napi::Error ToJsError(Napi::Env env, const SysError& e) {
  AddonData* d = env.GetInstanceData<AddonData>();
  if (d != nullptr && !d->nativeError.IsEmpty()) {
    Napi::Object obj =
        d->nativeError.New({Napi::String::New(env, e.Message()), Napi::String::New(env, e.step), Napi::Number::New(env, e.err)});
    return Napi::Error(env, obj);
  }
  Napi::Error err = Napi::Error::New(env, e.Message());
  err.Set("step", Napi::String::New(env, e.step));
  err.Set("errno", Napi::Number::New(env, e.err));
  return err;
}

void ThrowJs(Napi::Env env, const SysError& e) {
  throw ToJsError(env, e);
}

std::string NetnsLabel(const std::string* netnsPath) {
  return netnsPath == nullptr ? std::string("host netns") : *netnsPath;
}

std::string StringArg(const Napi::Value& v, const char* what) {
  if (!v.IsString()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

Napi::Buffer<uint8_t> BufferArg(const Napi::Value& v, const char* what) {
  if (!v.IsBuffer()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a Buffer");
  return v.As<Napi::Buffer<uint8_t>>();
}

// libbpf logs through one process-wide callback; a thread-local buffer lets the thread that loads
// an object collect its own verifier output without racing other threads.
namespace {
thread_local std::string* tlsCapture = nullptr;
bool debugToStderr = false;

int PrintFn(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (tlsCapture == nullptr && !debugToStderr) return 0;
  char buf[4096];
  int n = vsnprintf(buf, sizeof buf, fmt, args);
  if (n < 0) return 0;
  if (tlsCapture != nullptr && level != LIBBPF_DEBUG) {
    tlsCapture->append(buf);
    if (tlsCapture->size() > (1u << 20)) tlsCapture->erase(0, tlsCapture->size() - (1u << 19));
  }
  if (debugToStderr) fputs(buf, stderr);
  return n;
}
}  // namespace

void InstallLibbpfPrint() {
  const char* dbg = std::getenv("WEIR_LIBBPF_DEBUG");
  debugToStderr = dbg != nullptr && dbg[0] != '\0' && dbg[0] != '0';
  libbpf_set_print(PrintFn);
}

LibbpfLogCapture::LibbpfLogCapture() {
  tlsCapture = new std::string();
}
LibbpfLogCapture::~LibbpfLogCapture() {
  delete tlsCapture;
  tlsCapture = nullptr;
}
std::string LibbpfLogCapture::Tail(size_t maxBytes) const {
  if (tlsCapture == nullptr) return "";
  const std::string& s = *tlsCapture;
  return s.size() <= maxBytes ? s : "..." + s.substr(s.size() - maxBytes);
}

}  // namespace weir
