// Operations that run inside a network namespace, off the Node event loop.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "common.hh"

namespace weir {

// Runs fn on a fresh thread that setns()es into the network namespace at *netnsPath (the thread
// exits afterwards, so no thread ever returns anywhere with a foreign netns). nullptr runs fn on the
// calling thread, in its current netns. A SysError thrown by fn or by the netns entry propagates.
void RunInNetns(const std::string* netnsPath, const std::function<void()>& fn);

// Builds the JS result on the main thread from what the worker computed.
using ResultBuilder = std::function<Napi::Value(Napi::Env)>;

// Queues work on the libuv pool (which itself hops onto a netns thread) and returns a promise
// settled with the builder's value or a NativeError.
Napi::Promise StartNetnsJob(Napi::Env env, std::optional<std::string> netnsPath, std::function<ResultBuilder()> work);

std::optional<std::string> NetnsArg(const Napi::Value& v);

// Resolves an interface name in the current thread's netns; throws ENODEV with `step`.
int IfIndex(const std::string& ifname, const std::string& context);

// rtnetlink (netlink.cc), all in the calling thread's netns.
namespace nl {
int CreateIfb(const std::string& name);    // ifindex; idempotent; link set up
bool DeleteLink(const std::string& name);  // false when absent
void SetTbf(int ifindex, uint64_t rateBitsPerSecond, uint32_t burstBytes, uint32_t limitBytes);
// HTB root `major:` with one parent class major:1 at the rate and a leaf class per minor (rate = the
// leaf share, ceil = the rate), each leaf queueing in a TBF with the leafQueue* parameters (handle
// leafQdiscMajor + i). The programs pick a leaf per flow through skb->priority (bpf/weir.bpf.c).
struct FlowClasses {
  uint64_t rateBitsPerSecond = 0, leafRateBitsPerSecond = 0, leafQueueRateBitsPerSecond = 0;
  uint32_t burstBytes = 0, leafBurstBytes = 0, quantumBytes = 0, leafQueueBurstBytes = 0, leafQueueLimitBytes = 0;
  uint16_t major = 0, leafQdiscMajor = 0;
  std::vector<uint16_t> leafMinors;
};
void SetFlowClasses(int ifindex, const FlowClasses& f);
// Optional single attribute nested in TCA_OPTIONS.
void AddQdisc(int ifindex, const char* kind, uint32_t parent, uint32_t handle, uint16_t optType = 0, const void* opt = nullptr,
              size_t optLen = 0);
void ClearRootQdisc(int ifindex);
struct QdiscInfo {
  std::string kind;
  std::optional<uint64_t> rateBitsPerSecond;
};
std::optional<QdiscInfo> RootQdisc(int ifindex);
void SetLinkUp(int ifindex);
// A direct-action cls_bpf filter on clsact whose classid minor the program reads as
// skb->tc_classid (what libbpf's bpf_tc_attach cannot set).
void AttachBpfFilter(int ifindex, bool ingress, uint32_t handle, uint32_t priority, int progFd, const std::string& name, uint32_t classid,
                     bool replace);
// One filter on a clsact hook (progId/classid: cls_bpf only, else 0).
struct FilterInfo {
  uint32_t handle = 0;
  uint32_t priority = 0;
  uint16_t protocol = 0;  // host order (ETH_P_ALL = 3)
  std::string kind;
  uint32_t progId = 0;
  uint32_t classid = 0;
};
std::vector<FilterInfo> ListFilters(int ifindex, bool ingress);  // empty without clsact
// By handle, or the whole classifier instance at f's priority/protocol; false when absent.
bool DeleteFilter(int ifindex, bool ingress, const FilterInfo& f, bool wholeInstance);
struct LinkInfo {
  int ifindex = 0;
  std::string name;
  std::string kind;  // IFLA_INFO_KIND ("veth", "ifb", ...); empty for physical or kind-less links
  bool loopback = false;
  bool up = false;                     // IFF_UP (administratively up)
  std::vector<std::string> addresses;  // global-scope addresses only
};
std::vector<LinkInfo> Links();
}  // namespace nl

// Module functions (tc.cc, netlink.cc, probe.cc).
Napi::Value TcAttach(const Napi::CallbackInfo& info);
Napi::Value TcQuery(const Napi::CallbackInfo& info);
Napi::Value TcDetach(const Napi::CallbackInfo& info);
Napi::Value TcDestroyClsact(const Napi::CallbackInfo& info);
Napi::Value TcList(const Napi::CallbackInfo& info);
Napi::Value TcDeleteFilter(const Napi::CallbackInfo& info);
Napi::Value NlLinks(const Napi::CallbackInfo& info);
Napi::Value NlLinkIndex(const Napi::CallbackInfo& info);
Napi::Value NlCreateIfb(const Napi::CallbackInfo& info);
Napi::Value NlDeleteLink(const Napi::CallbackInfo& info);
Napi::Value NlSetTbf(const Napi::CallbackInfo& info);
Napi::Value NlSetFlowClasses(const Napi::CallbackInfo& info);
Napi::Value NlClearRootQdisc(const Napi::CallbackInfo& info);
Napi::Value NlRootQdisc(const Napi::CallbackInfo& info);
// linkwatch.cc: a link-notification socket inside a netns, polled on Node's loop.
Napi::Value NlWatchLinks(const Napi::CallbackInfo& info);
Napi::Function DefineLinkWatch(Napi::Env env);
Napi::Value ProbeFeatures(const Napi::CallbackInfo& info);

}  // namespace weir
