// Network-namespace entry on throwaway threads, and the promise plumbing for netns jobs.
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>

#include <exception>
#include <thread>

#include "ops.hh"

namespace weir {

void RunInNetns(const std::string* netnsPath, const std::function<void()>& fn) {
  if (netnsPath == nullptr) {
    fn();
    return;
  }
  std::optional<SysError> sysErr;
  std::exception_ptr other;
  std::thread t([&] {
    try {
      Fd ns(::open(netnsPath->c_str(), O_RDONLY | O_CLOEXEC));
      if (!ns.Valid()) throw SysError{"open netns", errno, *netnsPath, ""};
      // setns affects only this thread; it ends when the job does.
      CheckSys(::setns(ns.Get(), CLONE_NEWNET), "setns", *netnsPath);
      fn();
    } catch (const SysError& e) {
      sysErr = e;
    } catch (...) {
      other = std::current_exception();
    }
  });
  t.join();
  if (sysErr) throw *sysErr;
  if (other) std::rethrow_exception(other);
}

int IfIndex(const std::string& ifname, const std::string& context) {
  unsigned idx = ::if_nametoindex(ifname.c_str());
  if (idx == 0) throw SysError{"if_nametoindex", errno == 0 ? ENODEV : errno, context, ""};
  return static_cast<int>(idx);
}

std::optional<std::string> NetnsArg(const Napi::Value& v) {
  if (v.IsNull() || v.IsUndefined()) return std::nullopt;
  return StringArg(v, "netnsPath");
}

namespace {

class NetnsJob : public Napi::AsyncWorker {
 public:
  NetnsJob(Napi::Env env, std::optional<std::string> netnsPath, std::function<ResultBuilder()> work)
      : Napi::AsyncWorker(env, "weir:netns"),
        deferred_(Napi::Promise::Deferred::New(env)),
        netns_(std::move(netnsPath)),
        work_(std::move(work)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      RunInNetns(netns_ ? &*netns_ : nullptr, [&] { builder_ = work_(); });
    } catch (const SysError& e) {
      err_ = e;
    } catch (const std::exception& e) {
      err_ = SysError{"internal", EIO, "", e.what()};
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    try {
      if (err_) {
        deferred_.Reject(ToJsError(env, *err_).Value());
      } else {
        deferred_.Resolve(builder_ ? builder_(env) : env.Undefined());
      }
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::optional<std::string> netns_;
  std::function<ResultBuilder()> work_;
  ResultBuilder builder_;
  std::optional<SysError> err_;
};

}  // namespace

Napi::Promise StartNetnsJob(Napi::Env env, std::optional<std::string> netnsPath, std::function<ResultBuilder()> work) {
  auto* job = new NetnsJob(env, std::move(netnsPath), std::move(work));  // deleted by AsyncWorker after OnOK
  Napi::Promise p = job->Promise();
  job->Queue();
  return p;
}

}  // namespace weir
