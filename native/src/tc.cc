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
    if (d == "ingress")
      t.point = BPF_TC_INGRESS;
    else if (d == "egress")
      t.point = BPF_TC_EGRESS;
    else
      throw Napi::TypeError::New(env, "direction must be 'ingress' or 'egress'");
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
    if (rc == -ENOENT || rc == -EINVAL)
      removed = false;
    else
      Check(rc, "bpf_tc_detach", t.Context());
    return [removed](Napi::Env e) -> Napi::Value { return Napi::Boolean::New(e, removed); };
  });
}

// Every filter on one clsact hook: [{ handle, priority, protocol, kind, progId, classid }].
Napi::Value TcList(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Target t = ParseTarget(Options(info), true);
  return StartNetnsJob(env, t.netns, [t]() -> ResultBuilder {
    int ifindex = IfIndex(t.ifname, t.Context());
    std::vector<nl::FilterInfo> filters;
    try {
      filters = nl::ListFilters(ifindex, t.point == BPF_TC_INGRESS);
    } catch (SysError& e) {
      e.context = t.Context();
      throw;
    }
    return [filters](Napi::Env e) -> Napi::Value {
      Napi::Array a = Napi::Array::New(e, filters.size());
      for (size_t i = 0; i < filters.size(); i++) {
        const auto& f = filters[i];
        Napi::Object o = Napi::Object::New(e);
        o.Set("handle", Napi::Number::New(e, f.handle));
        o.Set("priority", Napi::Number::New(e, f.priority));
        o.Set("protocol", Napi::Number::New(e, f.protocol));
        o.Set("kind", f.kind);
        o.Set("progId", Napi::Number::New(e, f.progId));
        o.Set("classid", Napi::Number::New(e, f.classid));
        a.Set(static_cast<uint32_t>(i), o);
      }
      return a;
    };
  });
}

// Deletes one filter (handle/priority/protocol/kind as tcList reported it), or with `whole` every
// filter of its classifier instance (priority + protocol). Resolves false when it was not there.
Napi::Value TcDeleteFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Options(info);
  Target t = ParseTarget(o, true);
  nl::FilterInfo f;
  f.handle = t.handle;
  f.priority = t.priority;
  Napi::Value pv = o.Get("protocol");
  if (!pv.IsNumber()) throw Napi::TypeError::New(env, "protocol must be a number (host order, e.g. 3 for ETH_P_ALL)");
  uint32_t proto = pv.As<Napi::Number>().Uint32Value();
  if (proto > 0xffff) throw Napi::RangeError::New(env, "protocol must fit in 16 bits");
  f.protocol = static_cast<uint16_t>(proto);
  f.kind = StringArg(o.Get("kind"), "kind");
  bool whole = o.Get("whole").ToBoolean().Value();
  return StartNetnsJob(env, t.netns, [t, f, whole]() -> ResultBuilder {
    int ifindex = IfIndex(t.ifname, t.Context());
    bool removed;
    try {
      removed = nl::DeleteFilter(ifindex, t.point == BPF_TC_INGRESS, f, whole);
    } catch (SysError& e) {
      e.context = t.Context();
      throw;
    }
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
