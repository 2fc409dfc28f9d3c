// Kernel feature probes. BPF features through libbpf's probes; qdisc and link kinds by actually
// creating them on `lo` of a throwaway network namespace owned by a short-lived thread, which is the
// only answer that accounts for modules that are missing, built in, or loadable.
#include <bpf/libbpf.h>
#include <linux/pkt_sched.h>
#include <sched.h>
#include <sys/utsname.h>

#include <fstream>
#include <thread>

#include "bpf.hh"
#include "ops.hh"

namespace weir {

namespace {

struct NetProbe {
  bool tcClsact = false, schFq = false, schTbf = false, schHtb = false, ifb = false;
  std::string error;
};

bool Try(const std::function<void()>& f) {
  try {
    f();
    return true;
  } catch (const SysError&) {
    return false;
  }
}

NetProbe ProbeNet() {
  NetProbe r;
  std::thread t([&r] {
    if (::unshare(CLONE_NEWNET) < 0) {
      r.error = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
      return;
    }
    try {
      int lo = IfIndex("lo", "probe");
      r.tcClsact = Try([&] { nl::AddQdisc(lo, "clsact", TC_H_CLSACT, TC_H_MAKE(TC_H_CLSACT, 0)); });
      r.schFq = Try([&] { nl::AddQdisc(lo, "fq", TC_H_ROOT, 0); });
      if (r.schFq) nl::ClearRootQdisc(lo);
      tc_htb_glob glob{};
      glob.version = TC_HTB_PROTOVER;
      glob.rate2quantum = 10;
      r.schHtb = Try([&] { nl::AddQdisc(lo, "htb", TC_H_ROOT, 0, TCA_HTB_INIT, &glob, sizeof glob); });
      if (r.schHtb) nl::ClearRootQdisc(lo);
      r.schTbf = Try([&] { nl::SetTbf(lo, 8000000, 10000, 20000); });
      r.ifb = Try([&] { nl::CreateIfb("weirprobe0"); });
    } catch (const SysError& e) {
      r.error = e.Message();
    }
  });
  t.join();
  return r;
}

bool ReadFlag(const char* path) {
  std::ifstream f(path);
  int v = 0;
  return static_cast<bool>(f >> v) && v != 0;
}

}  // namespace

Napi::Value ProbeFeatures(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("ringbuf", libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nullptr) == 1);
  o.Set("lpmTrie", libbpf_probe_bpf_map_type(BPF_MAP_TYPE_LPM_TRIE, nullptr) == 1);
  o.Set("lruHash", libbpf_probe_bpf_map_type(BPF_MAP_TYPE_LRU_HASH, nullptr) == 1);
  NetProbe n = ProbeNet();
  o.Set("tcClsact", n.tcClsact);
  o.Set("schFq", n.schFq);
  o.Set("schTbf", n.schTbf);
  o.Set("schHtb", n.schHtb);
  o.Set("ifb", n.ifb);
  o.Set("btf", ::access("/sys/kernel/btf/vmlinux", R_OK) == 0);
  o.Set("jit", ReadFlag("/proc/sys/net/core/bpf_jit_enable"));
  // The agent probes once at start-up; that is also when bpffs must become available for pins.
  bool bpffs = true;
  try {
    EnsureBpffsDir("/sys/fs/bpf");
  } catch (const SysError& e) {
    bpffs = false;
    o.Set("bpffsError", e.Message());
  }
  o.Set("bpffs", bpffs);
  utsname u{};
  o.Set("kernelRelease", ::uname(&u) == 0 ? std::string(u.release) : std::string());
  if (!n.error.empty()) o.Set("netProbeError", n.error);
  return o;
}

}  // namespace weir
