// cls_bpf attachment on clsact (direct action) through libbpf's bpf_tc_* API, inside the target
// netns. libbpf 1.1 has no tcx links, so this is the attach path on every kernel we support.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <unistd.h>

#include "bpf.hh"
#include "ops.hh"

namespace weir {

namespace {

struct Target {
  std::optional<std::string> netns;
  std::string ifname;
  bpf_tc_attach_point point = BPF_TC_INGRESS;
  uint32_t handle = 1;
  uint32_t priority = 1;

  std::string Context() const { return "on " + ifname + " in " + NetnsLabel(netns ? &*netns : nullptr); }
};

Target ParseTarget(const Napi::Object& o, bool needDirection) {
  Napi::Env env = o.Env();
  Target t;
  t.netns = NetnsArg(o.Get("netnsPath"));
  t.ifname = StringArg(o.Get("ifname"), "ifname");
  if (needDirection) {
    std::string d = StringArg(o.Get("direction"), "direction");
    if (d == "ingress") t.point = BPF_TC_INGRESS;
    else if (d == "egress") t.point = BPF_TC_EGRESS;
    else throw Napi::TypeError::New(env, "direction must be 'ingress' or 'egress'");
  }
  auto u32 = [&](const char* key, uint32_t dflt) -> uint32_t {
    Napi::Value v = o.Get(key);
    if (v.IsUndefined()) return dflt;
    if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string(key) + " must be a number");
    return v.As<Napi::Number>().Uint32Value();
  };
  t.handle = u32("handle", 1);
  t.priority = u32("priority", 1);
  if (t.handle == 0 || t.priority == 0 || t.priority > 0xffff)
    throw Napi::RangeError::New(env, "handle must be non-zero and priority in 1..65535");
  return t;
}

bpf_tc_hook Hook(int ifindex, bpf_tc_attach_point point) {
  bpf_tc_hook h{};
  h.sz = sizeof h;
  h.ifindex = ifindex;
  h.attach_point = point;
  return h;
}

bpf_tc_opts Opts(const Target& t) {
  bpf_tc_opts o{};
  o.sz = sizeof o;
  o.handle = t.handle;
  o.priority = t.priority;
  return o;
}

Napi::Object Options(const Napi::CallbackInfo& info) {
  if (!info[0].IsObject()) throw Napi::TypeError::New(info.Env(), "expected an options object");
  return info[0].As<Napi::Object>();
}

// { progId } for JavaScript, built on the main thread once the netns job is done.
ResultBuilder ProgIdResult(uint32_t id) {
  return [id](Napi::Env e) -> Napi::Value {
    Napi::Object r = Napi::Object::New(e);
    r.Set("progId", Napi::Number::New(e, id));
    return r;
  };
}

}  // namespace

Napi::Value TcAttach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Options(info);
  Target t = ParseTarget(o, true);
  Napi::Value pv = o.Get("program");
  if (!pv.IsObject() || !pv.As<Napi::Object>().InstanceOf(Data(env).bpfProgramCtor.Value()))
    throw Napi::TypeError::New(env, "program must be a BpfProgram");
  bool replace = o.Get("replace").ToBoolean().Value();
  // classid: the filter's classid; its minor is what the program reads as skb->tc_classid.
  std::optional<uint32_t> classid;
  Napi::Value cv = o.Get("classid");
  if (!cv.IsUndefined()) {
    if (!cv.IsNumber()) throw Napi::TypeError::New(env, "classid must be a number");
    classid = cv.As<Napi::Number>().Uint32Value();
    if ((*classid & 0xffff) == 0) throw Napi::RangeError::New(env, "classid must have a non-zero minor");
  }
  // Our own duplicate of the program fd: the object may be closed while the job runs.
  auto progFd = std::make_shared<Fd>();
  Guard(env, [&] {
    int fd = BpfProgramWrap::Unwrap(pv.As<Napi::Object>())->LiveFd();
    progFd->Reset(CheckSys(::fcntl(fd, F_DUPFD_CLOEXEC, 3), "dup program fd"));
  });
  return StartNetnsJob(env, t.netns, [t, progFd, replace, classid]() -> ResultBuilder {
    int ifindex = IfIndex(t.ifname, t.Context());
    bpf_tc_hook hook = Hook(ifindex, t.point);
    int rc = bpf_tc_hook_create(&hook);  // creates clsact; EEXIST when it is already there
    if (rc < 0 && rc != -EEXIST) Check(rc, "bpf_tc_hook_create", t.Context());
    bpf_tc_opts opts = Opts(t);
    if (!classid) {
      opts.prog_fd = progFd->Get();
      opts.flags = replace ? BPF_TC_F_REPLACE : 0;
      Check(bpf_tc_attach(&hook, &opts), "bpf_tc_attach", t.Context());
      return ProgIdResult(opts.prog_id);
    }
    bpf_prog_info info{};
    uint32_t len = sizeof info;
    Check(bpf_obj_get_info_by_fd(progFd->Get(), &info, &len), "bpf_obj_get_info_by_fd", t.Context());
    try {
      nl::AttachBpfFilter(ifindex, t.point == BPF_TC_INGRESS, t.handle, t.priority, progFd->Get(), info.name, *classid, replace);
    } catch (SysError& e) {
      e.context = t.Context();
      throw;
    }
    return ProgIdResult(info.id);
  });
}

Napi::Value TcQuery(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Target t = ParseTarget(Options(info), true);
  return StartNetnsJob(env, t.netns, [t]() -> ResultBuilder {
    int ifindex = IfIndex(t.ifname, t.Context());
    bpf_tc_hook hook = Hook(ifindex, t.point);
    bpf_tc_opts opts = Opts(t);
    int rc = bpf_tc_query(&hook, &opts);
    // ENOENT: no such filter; EINVAL: no clsact on the device at all.
    if (rc == -ENOENT || rc == -EINVAL) return [](Napi::Env e) -> Napi::Value { return e.Undefined(); };
    Check(rc, "bpf_tc_query", t.Context());
    return ProgIdResult(opts.prog_id);
  });
}

Napi::Value TcDetach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Target t = ParseTarget(Options(info), true);
  return StartNetnsJob(env, t.netns, [t]() -> ResultBuilder {
    int ifindex = IfIndex(t.ifname, t.Context());
    bpf_tc_hook hook = Hook(ifindex, t.point);
    bpf_tc_opts opts = Opts(t);
    int rc = bpf_tc_detach(&hook, &opts);
    bool removed = true;
    if (rc == -ENOENT || rc == -EINVAL) removed = false;
    else Check(rc, "bpf_tc_detach", t.Context());
    return [removed](Napi::Env e) -> Napi::Value { return Napi::Boolean::New(e, removed); };
  });
}

Napi::Value TcDestroyClsact(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Target t = ParseTarget(Options(info), false);
  return StartNetnsJob(env, t.netns, [t]() -> ResultBuilder {
    int ifindex = IfIndex(t.ifname, t.Context());
    bpf_tc_hook hook = Hook(ifindex, static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS));
    int rc = bpf_tc_hook_destroy(&hook);
    if (rc < 0 && rc != -ENOENT && rc != -EINVAL) Check(rc, "bpf_tc_hook_destroy", t.Context());
    return nullptr;
  });
}

}  // namespace weir
