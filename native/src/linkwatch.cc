// Link watch: a NETLINK_ROUTE socket created inside a pod's netns (a socket belongs to the netns of
// the thread that created it, so it hears that netns only), subscribed to link and address
// notifications. Readability comes from libuv (uv_poll on the socket, on Node's own loop): no
// thread and no busy poll. Each wakeup drains a bounded number of reads and then calls the JS
// callback once, so a flood of notifications costs one call per wakeup, and the agent coalesces
// further (agent/src/endpoints/link-watches.ts).
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <uv.h>

#include <vector>

#include "ops.hh"

namespace weir {

namespace {

// Reads per wakeup before going back to the loop; the poll is level-triggered, so what is left is
// read on the next turn, after everything else the loop had to do.
constexpr int kReadsPerWakeup = 16;
constexpr size_t kReadBytes = 32768;

Fd OpenLinkSocket(const std::string& where) {
  Fd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd.Valid()) throw SysError{"socket(NETLINK_ROUTE)", errno, where, ""};
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  // Addresses too: whether a link is adopted depends on them (agent/src/datapath/links.ts), and
  // IPAM sets a link up before it adds the addresses.
  sa.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
  CheckSys(::bind(fd.Get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), "bind rtnetlink groups", where);
  return fd;
}

class LinkWatchWrap : public Napi::ObjectWrap<LinkWatchWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "LinkWatch",
                       {InstanceMethod("close", &LinkWatchWrap::Close), InstanceAccessor("open", &LinkWatchWrap::Open, nullptr)});
  }

  // (fd, onChange, where): only NlWatchLinks constructs it, handing over an fd it owns.
  explicit LinkWatchWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LinkWatchWrap>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber() || !info[1].IsFunction() || !info[2].IsString())
      throw Napi::TypeError::New(env, "LinkWatch is made by nlWatchLinks(netnsPath, onChange), not directly");
    fd_.Reset(info[0].As<Napi::Number>().Int32Value());
    onChange_ = Napi::Persistent(info[1].As<Napi::Function>());
    where_ = info[2].As<Napi::String>().Utf8Value();
    context_ = std::make_unique<Napi::AsyncContext>(env, "weir:linkwatch");
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) ThrowJs(env, SysError{"napi_get_uv_event_loop", EIO, where_, ""});
    auto* poll = new uv_poll_t();
    int rc = uv_poll_init(loop, poll, fd_.Get());
    if (rc < 0) {
      delete poll;
      ThrowJs(env, SysError{"uv_poll_init", -rc, where_, ""});
    }
    poll_ = poll;
    poll_->data = this;
    rc = uv_poll_start(poll_, UV_READABLE, &LinkWatchWrap::OnReadable);
    if (rc < 0) {
      Shut();
      ThrowJs(env, SysError{"uv_poll_start", -rc, where_, ""});
    }
    // The agent's other handles keep the process alive; a watch alone must not.
    uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    // An environment torn down with the watch open (a worker thread ending) closes it first, while
    // its loop still runs close callbacks.
    env_ = env;
    napi_add_env_cleanup_hook(env_, &LinkWatchWrap::OnEnvCleanup, this);
  }

  ~LinkWatchWrap() override { Shut(); }

 private:
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shut();
    return info.Env().Undefined();
  }

  Napi::Value Open(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), poll_ != nullptr); }

  // Stops polling before the fd is closed (libuv must not poll a closed fd); idempotent.
  void Shut() {
    if (env_ != nullptr) {
      napi_remove_env_cleanup_hook(env_, &LinkWatchWrap::OnEnvCleanup, this);
      env_ = nullptr;
    }
    if (poll_ != nullptr) {
      uv_poll_stop(poll_);
      poll_->data = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
    }
    fd_.Reset();
  }

  static void OnEnvCleanup(void* arg) { static_cast<LinkWatchWrap*>(arg)->Shut(); }

  static void OnReadable(uv_poll_t* handle, int status, int) {
    auto* self = static_cast<LinkWatchWrap*>(handle->data);
    if (self != nullptr) self->Drain(status);
  }

  // Main thread. Reads what is queued (bounded), then tells JS once whether anything changed.
  void Drain(int status) {
    bool changed = false;
    std::optional<SysError> failure;
    if (status < 0) failure = SysError{"uv_poll", -status, where_, ""};
    // One read buffer per loop thread, not per watch (a node has a watch per pod).
    thread_local std::vector<uint8_t> buf(kReadBytes);
    for (int i = 0; !failure && i < kReadsPerWakeup; i++) {
      ssize_t n = ::recv(fd_.Get(), buf.data(), buf.size(), MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == EINTR) continue;
        // The socket's queue overflowed: notifications were lost, so assume a change.
        if (errno == ENOBUFS) {
          changed = true;
          continue;
        }
        failure = SysError{"recv link notifications", errno, where_, ""};
        break;
      }
      auto len = static_cast<int>(n);
      for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
        if (h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_NEWADDR) changed = true;
      }
    }
    if (failure) Shut();  // a socket that fails would wake the loop forever; the agent is told
    if (!changed && !failure) return;
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    std::vector<napi_value> args;
    if (failure) args.push_back(ToJsError(env, *failure).Value());
    try {
      // MakeCallback: promise jobs the callback starts run when it returns, as for any I/O callback.
      onChange_.MakeCallback(env.Global(), args, *context_);
    } catch (const Napi::Error& e) {
      napi_fatal_exception(env, e.Value());
    }
  }

  Fd fd_;
  uv_poll_t* poll_ = nullptr;
  napi_env env_ = nullptr;  // set while the cleanup hook is registered
  Napi::FunctionReference onChange_;
  std::unique_ptr<Napi::AsyncContext> context_;
  std::string where_;
};

}  // namespace

Napi::Function DefineLinkWatch(Napi::Env env) {
  return LinkWatchWrap::Define(env);
}

// nlWatchLinks(netnsPath, onChange): Promise<LinkWatch>. The socket is created on a thread inside
// the netns (RunInNetns); the watch starts on the main thread once it exists.
Napi::Value NlWatchLinks(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string ns = StringArg(info[0], "netnsPath");
  if (!info[1].IsFunction()) throw Napi::TypeError::New(env, "watchLinks needs an onChange function");
  auto onChange = std::make_shared<Napi::FunctionReference>(Napi::Persistent(info[1].As<Napi::Function>()));
  return StartNetnsJob(env, ns, [ns, onChange]() -> ResultBuilder {
    std::string where = "in " + NetnsLabel(&ns);
    auto fd = std::make_shared<Fd>(OpenLinkSocket(where));
    return [fd, onChange, where](Napi::Env e) -> Napi::Value {
      Napi::Value raw = Napi::Number::New(e, fd->Release());
      return Data(e).linkWatchCtor.New({raw, onChange->Value(), Napi::String::New(e, where)});
    };
  });
}

}  // namespace weir
