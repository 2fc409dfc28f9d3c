// Raw rtnetlink for what the datapath needs besides BPF: IFB links and the shaping qdiscs (TBF, or
// HTB with flow classes) in a pod netns. No libnl and no shell: messages are built here, acks are
// checked, extack text is kept.
#include <net/if.h>  // before linux/ headers: glibc and the kernel both define IFF_*
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "ops.hh"

namespace weir {
namespace nl {

namespace {

// A netlink request under construction: header, fixed family struct, attributes (with nesting).
class Msg {
 public:
  Msg(uint16_t type, uint16_t flags) {
    buf_.resize(NLMSG_HDRLEN);
    Hdr()->nlmsg_type = type;
    Hdr()->nlmsg_flags = static_cast<uint16_t>(flags | NLM_F_REQUEST);
  }
  template <typename T>
  T* Append(const T& v) {
    size_t off = Put(&v, sizeof v);
    return reinterpret_cast<T*>(buf_.data() + off);
  }
  void Attr(uint16_t type, const void* data, size_t len) {
    rtattr a{};
    a.rta_type = type;
    a.rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
    Put(&a, sizeof a, false);
    Put(data, len);
  }
  void AttrStr(uint16_t type, const std::string& s) { Attr(type, s.c_str(), s.size() + 1); }
  template <typename T>
  void AttrVal(uint16_t type, T v) {
    Attr(type, &v, sizeof v);
  }
  size_t Begin(uint16_t type) {
    size_t off = buf_.size();
    rtattr a{};
    a.rta_type = type;
    Put(&a, sizeof a, false);
    return off;
  }
  void End(size_t off) { reinterpret_cast<rtattr*>(buf_.data() + off)->rta_len = static_cast<uint16_t>(buf_.size() - off); }
  nlmsghdr* Hdr() { return reinterpret_cast<nlmsghdr*>(buf_.data()); }
  std::vector<uint8_t>& Finish() {
    Hdr()->nlmsg_len = static_cast<uint32_t>(buf_.size());
    return buf_;
  }

 private:
  size_t Put(const void* p, size_t len, bool align = true) {
    size_t off = buf_.size();
    buf_.resize(off + (align ? NLMSG_ALIGN(len) : len), 0);
    std::memcpy(buf_.data() + off, p, len);
    return off;
  }
  std::vector<uint8_t> buf_;
};

std::string ExtackMessage(const nlmsghdr* h) {
  if (!(h->nlmsg_flags & NLM_F_ACK_TLVS)) return "";
  auto* err = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
  size_t off = NLMSG_HDRLEN + sizeof(nlmsgerr);
  if (!(h->nlmsg_flags & NLM_F_CAPPED)) off += err->msg.nlmsg_len - NLMSG_HDRLEN;
  const uint8_t* base = reinterpret_cast<const uint8_t*>(h);
  while (off + sizeof(nlattr) <= h->nlmsg_len) {
    auto* a = reinterpret_cast<const nlattr*>(base + off);
    if (a->nla_len < sizeof(nlattr) || off + a->nla_len > h->nlmsg_len) break;
    if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG)
      return std::string(reinterpret_cast<const char*>(a) + NLA_HDRLEN, a->nla_len - NLA_HDRLEN - 1);
    off += NLA_ALIGN(a->nla_len);
  }
  return "";
}

// One NETLINK_ROUTE socket in the calling thread's netns.
class Socket {
 public:
  Socket() {
    fd_.Reset(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!fd_.Valid()) throw SysError{"socket(NETLINK_ROUTE)", errno, "", ""};
    int one = 1;
    ::setsockopt(fd_.Get(), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    ::setsockopt(fd_.Get(), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    CheckSys(::bind(fd_.Get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), "bind netlink");
  }

  // Sends a request with NLM_F_ACK and returns 0 or -errno from the kernel's ack, with its extack.
  int Request(Msg& m, std::string* extack) {
    m.Hdr()->nlmsg_flags |= NLM_F_ACK;
    uint32_t seq = Send(m);
    int result = 1;
    Receive(seq, [&](const nlmsghdr* h) {
      if (h->nlmsg_type == NLMSG_ERROR) {
        result = static_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;
        if (extack != nullptr) *extack = ExtackMessage(h);
        return false;
      }
      return true;
    });
    return result == 1 ? -EPROTO : result;
  }

  void Dump(Msg& m, const std::function<void(const nlmsghdr*)>& each, const char* step) {
    m.Hdr()->nlmsg_flags |= NLM_F_DUMP;
    uint32_t seq = Send(m);
    int err = 0;
    std::string ext;
    Receive(seq, [&](const nlmsghdr* h) {
      if (h->nlmsg_type == NLMSG_DONE) return false;
      if (h->nlmsg_type == NLMSG_ERROR) {
        err = static_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;
        ext = ExtackMessage(h);
        return false;
      }
      each(h);
      return true;
    });
    if (err < 0) throw SysError{step, -err, "", ext};
  }

 private:
  uint32_t Send(Msg& m) {
    uint32_t seq = ++seq_;
    m.Hdr()->nlmsg_seq = seq;
    auto& b = m.Finish();
    if (::send(fd_.Get(), b.data(), b.size(), 0) < 0) throw SysError{"send netlink", errno, "", ""};
    return seq;
  }
  // Calls fn for each message of our sequence until it returns false.
  void Receive(uint32_t seq, const std::function<bool(const nlmsghdr*)>& fn) {
    std::vector<uint8_t> buf(64 * 1024);
    for (;;) {
      ssize_t n = ::recv(fd_.Get(), buf.data(), buf.size(), 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw SysError{"recv netlink", errno, "", ""};
      }
      int len = static_cast<int>(n);
      for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
        if (h->nlmsg_seq != seq) continue;
        if (!fn(h)) return;
      }
    }
  }
  Fd fd_;
  uint32_t seq_ = static_cast<uint32_t>(::time(nullptr));
};

// Ticks per microsecond of the packet scheduler clock, from /proc/net/psched (as tc computes it).
double TicksPerUsec() {
  FILE* f = std::fopen("/proc/net/psched", "re");
  unsigned t2us = 0, us2t = 0, clockRes = 0;
  bool ok = f != nullptr && std::fscanf(f, "%08x%08x%08x", &t2us, &us2t, &clockRes) == 3;
  if (f != nullptr) std::fclose(f);
  if (!ok || us2t == 0) return 15.625;  // 1 tick = 64 ns, the kernel's fixed PSCHED_SHIFT
  // Same compatibility rule as iproute2: a nanosecond clock advertises t2us 1000 meaning 1.
  if (clockRes == 1000000000) t2us = us2t;
  double clockFactor = clockRes == 0 ? 1.0 : double(clockRes) / 1000000.0;
  return double(t2us) / double(us2t) * clockFactor;
}

void ThrowIf(int rc, const char* step, const std::string& context, const std::string& extack) {
  if (rc < 0) throw SysError{step, -rc, context, extack};
}

std::string DevCtx(int ifindex) {
  char name[IF_NAMESIZE] = {0};
  if (::if_indextoname(static_cast<unsigned>(ifindex), name) == nullptr) return "on ifindex " + std::to_string(ifindex);
  return std::string("on ") + name;
}

tcmsg RootTcmsg(int ifindex) {
  tcmsg t{};
  t.tcm_family = AF_UNSPEC;
  t.tcm_ifindex = ifindex;
  t.tcm_parent = TC_H_ROOT;
  t.tcm_handle = 0;
  return t;
}

}  // namespace

void SetLinkUp(int ifindex) {
  Socket s;
  Msg m(RTM_NEWLINK, 0);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = ifindex;
  ifi.ifi_flags = IFF_UP;
  ifi.ifi_change = IFF_UP;
  m.Append(ifi);
  std::string ext;
  ThrowIf(s.Request(m, &ext), "RTM_NEWLINK (set up)", DevCtx(ifindex), ext);
}

int CreateIfb(const std::string& name) {
  Socket s;
  Msg m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  m.Append(ifi);
  m.AttrStr(IFLA_IFNAME, name);
  size_t li = m.Begin(IFLA_LINKINFO);
  m.AttrStr(IFLA_INFO_KIND, "ifb");
  m.End(li);
  std::string ext;
  int rc = s.Request(m, &ext);
  if (rc < 0 && rc != -EEXIST) ThrowIf(rc, "RTM_NEWLINK (ifb)", "for " + name, ext);
  int idx = IfIndex(name, "for " + name);
  SetLinkUp(idx);
  return idx;
}

bool DeleteLink(const std::string& name) {
  Socket s;
  Msg m(RTM_DELLINK, 0);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  m.Append(ifi);
  m.AttrStr(IFLA_IFNAME, name);
  std::string ext;
  int rc = s.Request(m, &ext);
  if (rc == -ENODEV) return false;
  ThrowIf(rc, "RTM_DELLINK", "for " + name, ext);
  return true;
}

namespace {
// A TBF at `parent` (TC_H_ROOT or an HTB leaf) with `handle` (0: the kernel picks one).
void Tbf(Socket& s, int ifindex, uint32_t parent, uint32_t handle, uint64_t rateBitsPerSecond, uint32_t burstBytes, uint32_t limitBytes) {
  if (rateBitsPerSecond < 8 || burstBytes == 0 || limitBytes == 0)
    throw SysError{"tbf parameters", EINVAL, DevCtx(ifindex), "rate, burst and limit must be positive"};
  uint64_t rateBytes = rateBitsPerSecond / 8;
  tc_tbf_qopt q{};
  // Link-layer aware rate: the kernel computes transmission times itself, no rate table needed.
  q.rate.linklayer = TC_LINKLAYER_ETHERNET;
  q.rate.rate = rateBytes >= (uint64_t(1) << 32) ? ~0U : static_cast<uint32_t>(rateBytes);
  q.limit = limitBytes;
  double usec = double(burstBytes) * 1e6 / double(rateBytes);
  q.buffer = static_cast<uint32_t>(std::min(std::ceil(usec * TicksPerUsec()), double(~0U)));
  Msg m(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE);
  tcmsg t = RootTcmsg(ifindex);
  t.tcm_parent = parent;
  t.tcm_handle = handle;
  m.Append(t);
  m.AttrStr(TCA_KIND, "tbf");
  size_t opts = m.Begin(TCA_OPTIONS);
  m.Attr(TCA_TBF_PARMS, &q, sizeof q);
  if (rateBytes >= (uint64_t(1) << 32)) m.AttrVal<uint64_t>(TCA_TBF_RATE64, rateBytes);
  m.AttrVal<uint32_t>(TCA_TBF_BURST, burstBytes);
  m.End(opts);
  std::string ext;
  ThrowIf(s.Request(m, &ext), "RTM_NEWQDISC (tbf)", DevCtx(ifindex), ext);
}
}  // namespace

void SetTbf(int ifindex, uint64_t rateBitsPerSecond, uint32_t burstBytes, uint32_t limitBytes) {
  Socket s;
  Tbf(s, ifindex, TC_H_ROOT, 0, rateBitsPerSecond, burstBytes, limitBytes);
}

namespace {
// An HTB class: rate guaranteed, ceil borrowed, each with its burst (link-layer aware, no rate tables).
void HtbClass(Socket& s, int ifindex, uint32_t parent, uint32_t classid, uint64_t rateBytes, uint64_t ceilBytes, uint32_t burstBytes,
              uint32_t cburstBytes, uint32_t quantum) {
  tc_htb_opt o{};
  o.rate.linklayer = o.ceil.linklayer = TC_LINKLAYER_ETHERNET;
  o.rate.rate = rateBytes >= (uint64_t(1) << 32) ? ~0U : static_cast<uint32_t>(rateBytes);
  o.ceil.rate = ceilBytes >= (uint64_t(1) << 32) ? ~0U : static_cast<uint32_t>(ceilBytes);
  auto ticks = [](uint32_t bytes, uint64_t perSecond) {
    return static_cast<uint32_t>(std::min(std::ceil(double(bytes) * 1e6 / double(perSecond) * TicksPerUsec()), double(~0U)));
  };
  o.buffer = ticks(burstBytes, rateBytes);
  o.cbuffer = ticks(cburstBytes, ceilBytes);
  o.quantum = quantum;
  Msg m(RTM_NEWTCLASS, NLM_F_CREATE);
  tcmsg t = RootTcmsg(ifindex);
  t.tcm_parent = parent;
  t.tcm_handle = classid;
  m.Append(t);
  m.AttrStr(TCA_KIND, "htb");
  size_t opts = m.Begin(TCA_OPTIONS);
  m.Attr(TCA_HTB_PARMS, &o, sizeof o);
  if (rateBytes >= (uint64_t(1) << 32)) m.AttrVal<uint64_t>(TCA_HTB_RATE64, rateBytes);
  if (ceilBytes >= (uint64_t(1) << 32)) m.AttrVal<uint64_t>(TCA_HTB_CEIL64, ceilBytes);
  m.End(opts);
  std::string ext;
  char what[32];
  std::snprintf(what, sizeof what, "RTM_NEWTCLASS (htb %x:%x)", TC_H_MAJ(classid) >> 16, TC_H_MIN(classid));
  ThrowIf(s.Request(m, &ext), what, DevCtx(ifindex), ext);
}
}  // namespace

void SetFlowClasses(int ifindex, const FlowClasses& f) {
  if (f.rateBitsPerSecond < 8 || f.leafRateBitsPerSecond < 8 || f.burstBytes == 0 || f.leafBurstBytes == 0 || f.quantumBytes == 0 ||
      f.leafMinors.empty())
    throw SysError{"htb parameters", EINVAL, DevCtx(ifindex), "rates, bursts, limit, quantum and leaves must be positive"};
  const uint32_t root = TC_H_MAKE(uint32_t(f.major) << 16, 0), parent = TC_H_MAKE(uint32_t(f.major) << 16, 1);
  Socket s;
  std::string ext;
  // Replacing a TBF (or the default) root grafts the new HTB in one step; an HTB root of ours
  // stays, and only its classes change (HTB cannot change its defcls in place).
  auto current = RootQdisc(ifindex);
  if (!current || current->kind != "htb") {
    tc_htb_glob glob{};
    glob.version = TC_HTB_PROTOVER;
    glob.rate2quantum = 10;
    glob.defcls = f.leafMinors[0];  // unclassified packets (ARP) are shaped too, never sent direct
    Msg m(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE);
    tcmsg t = RootTcmsg(ifindex);
    t.tcm_handle = root;
    m.Append(t);
    m.AttrStr(TCA_KIND, "htb");
    size_t o = m.Begin(TCA_OPTIONS);
    m.Attr(TCA_HTB_INIT, &glob, sizeof glob);
    m.End(o);
    ThrowIf(s.Request(m, &ext), "RTM_NEWQDISC (htb)", DevCtx(ifindex), ext);
  }
  const uint64_t rate = f.rateBitsPerSecond / 8, leafRate = f.leafRateBitsPerSecond / 8;
  HtbClass(s, ifindex, root, parent, rate, rate, f.burstBytes, f.burstBytes, f.quantumBytes);
  for (size_t i = 0; i < f.leafMinors.size(); i++) {
    const uint32_t leaf = TC_H_MAKE(uint32_t(f.major) << 16, f.leafMinors[i]);
    HtbClass(s, ifindex, parent, leaf, leafRate, rate, f.leafBurstBytes, f.burstBytes, f.quantumBytes);
    // The leaf's queue: a TBF that never binds (its rate is above the HTB's) but splits GSO
    // packets larger than its burst and queues in bytes (HTB's default pfifo counts packets and
    // would hold whole 64 KiB GSO packets).
    Tbf(s, ifindex, leaf, TC_H_MAKE(uint32_t(f.leafQdiscMajor + i) << 16, 0), f.leafQueueRateBitsPerSecond, f.leafQueueBurstBytes,
        f.leafQueueLimitBytes);
  }
}

void AddQdisc(int ifindex, const char* kind, uint32_t parent, uint32_t handle, uint16_t optType, const void* opt, size_t optLen) {
  Socket s;
  Msg m(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL);
  tcmsg t = RootTcmsg(ifindex);
  t.tcm_parent = parent;
  t.tcm_handle = handle;
  m.Append(t);
  m.AttrStr(TCA_KIND, kind);
  if (opt != nullptr) {
    size_t o = m.Begin(TCA_OPTIONS);
    m.Attr(optType, opt, optLen);
    m.End(o);
  }
  std::string ext;
  ThrowIf(s.Request(m, &ext), "RTM_NEWQDISC", std::string(kind) + " " + DevCtx(ifindex), ext);
}

void AttachBpfFilter(int ifindex, bool ingress, uint32_t handle, uint32_t priority, int progFd, const std::string& name, uint32_t classid,
                     bool replace) {
  Socket s;
  Msg m(RTM_NEWTFILTER, NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL));
  tcmsg t = RootTcmsg(ifindex);
  t.tcm_parent = TC_H_MAKE(TC_H_CLSACT, ingress ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS);
  t.tcm_handle = handle;
  // priority in the upper 16 bits, the protocol (ETH_P_ALL, network order) in the lower.
  t.tcm_info = TC_H_MAKE(priority << 16, htons(ETH_P_ALL));
  m.Append(t);
  m.AttrStr(TCA_KIND, "bpf");
  size_t opts = m.Begin(TCA_OPTIONS);
  m.AttrVal<uint32_t>(TCA_BPF_FD, static_cast<uint32_t>(progFd));
  m.AttrStr(TCA_BPF_NAME, name);
  m.AttrVal<uint32_t>(TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT);
  m.AttrVal<uint32_t>(TCA_BPF_CLASSID, classid);
  m.End(opts);
  std::string ext;
  ThrowIf(s.Request(m, &ext), "RTM_NEWTFILTER (bpf)", DevCtx(ifindex), ext);
}

// ---- filter and link inventory (re-attach: foreign filters, links a later plugin added) -------

namespace {
uint32_t ClsactParent(bool ingress) {
  return TC_H_MAKE(TC_H_CLSACT, ingress ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS);
}
}  // namespace

std::vector<FilterInfo> ListFilters(int ifindex, bool ingress) {
  Socket s;
  Msg m(RTM_GETTFILTER, 0);
  tcmsg t{};
  t.tcm_family = AF_UNSPEC;
  t.tcm_ifindex = ifindex;
  t.tcm_parent = ClsactParent(ingress);
  m.Append(t);
  std::vector<FilterInfo> out;
  try {
    s.Dump(
        m,
        [&](const nlmsghdr* h) {
          if (h->nlmsg_type != RTM_NEWTFILTER) return;
          auto* tm = static_cast<const tcmsg*>(NLMSG_DATA(h));
          // handle 0: the classifier instance itself (one per priority/protocol), not a filter.
          if (tm->tcm_ifindex != ifindex || tm->tcm_handle == 0) return;
          FilterInfo f;
          f.handle = tm->tcm_handle;
          f.priority = TC_H_MAJ(tm->tcm_info) >> 16;
          f.protocol = ntohs(static_cast<uint16_t>(TC_H_MIN(tm->tcm_info)));
          int len = static_cast<int>(h->nlmsg_len) - NLMSG_LENGTH(sizeof(tcmsg));
          for (auto* a = reinterpret_cast<const rtattr*>(reinterpret_cast<const uint8_t*>(tm) + NLMSG_ALIGN(sizeof(tcmsg))); RTA_OK(a, len);
               a = RTA_NEXT(a, len)) {
            if (a->rta_type == TCA_KIND) f.kind = static_cast<const char*>(RTA_DATA(a));
            if (a->rta_type != TCA_OPTIONS) continue;
            int olen = static_cast<int>(RTA_PAYLOAD(a));
            for (auto* o = static_cast<const rtattr*>(RTA_DATA(a)); RTA_OK(o, olen); o = RTA_NEXT(o, olen)) {
              if (RTA_PAYLOAD(o) < sizeof(uint32_t)) continue;
              uint32_t v;
              std::memcpy(&v, RTA_DATA(o), sizeof v);
              if (o->rta_type == TCA_BPF_ID) f.progId = v;
              if (o->rta_type == TCA_BPF_CLASSID) f.classid = v;
            }
          }
          out.push_back(f);
        },
        "RTM_GETTFILTER");
  } catch (SysError& e) {
    // No clsact on the device: no filters.
    if (e.err == EINVAL || e.err == ENOENT) return {};
    throw;
  }
  return out;
}

bool DeleteFilter(int ifindex, bool ingress, const FilterInfo& f, bool wholeInstance) {
  Socket s;
  Msg m(RTM_DELTFILTER, 0);
  tcmsg t = RootTcmsg(ifindex);
  t.tcm_parent = ClsactParent(ingress);
  // handle 0 with priority and protocol removes the whole classifier instance at that priority.
  t.tcm_handle = wholeInstance ? 0 : f.handle;
  t.tcm_info = TC_H_MAKE(f.priority << 16, htons(f.protocol));
  m.Append(t);
  if (!f.kind.empty()) m.AttrStr(TCA_KIND, f.kind);
  std::string ext;
  int rc = s.Request(m, &ext);
  if (rc == -ENOENT || rc == -EINVAL) return false;
  ThrowIf(rc, "RTM_DELTFILTER", DevCtx(ifindex), ext);
  return true;
}

std::vector<LinkInfo> Links() {
  std::vector<LinkInfo> out;
  {
    Socket s;
    Msg m(RTM_GETLINK, 0);
    ifinfomsg ifi{};
    ifi.ifi_family = AF_UNSPEC;
    m.Append(ifi);
    s.Dump(
        m,
        [&](const nlmsghdr* h) {
          if (h->nlmsg_type != RTM_NEWLINK) return;
          auto* im = static_cast<const ifinfomsg*>(NLMSG_DATA(h));
          LinkInfo l;
          l.ifindex = im->ifi_index;
          l.loopback = (im->ifi_flags & IFF_LOOPBACK) != 0;
          l.up = (im->ifi_flags & IFF_UP) != 0;
          int len = static_cast<int>(h->nlmsg_len) - NLMSG_LENGTH(sizeof(ifinfomsg));
          for (auto* a = IFLA_RTA(im); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
            if (a->rta_type == IFLA_IFNAME) l.name = static_cast<const char*>(RTA_DATA(a));
            if (a->rta_type != IFLA_LINKINFO) continue;
            int ilen = static_cast<int>(RTA_PAYLOAD(a));
            for (auto* i = static_cast<const rtattr*>(RTA_DATA(a)); RTA_OK(i, ilen); i = RTA_NEXT(i, ilen))
              if (i->rta_type == IFLA_INFO_KIND) l.kind = static_cast<const char*>(RTA_DATA(i));
          }
          out.push_back(l);
        },
        "RTM_GETLINK");
  }
  Socket s;
  Msg m(RTM_GETADDR, 0);
  ifaddrmsg ifa{};
  ifa.ifa_family = AF_UNSPEC;
  m.Append(ifa);
  s.Dump(
      m,
      [&](const nlmsghdr* h) {
        if (h->nlmsg_type != RTM_NEWADDR) return;
        auto* am = static_cast<const ifaddrmsg*>(NLMSG_DATA(h));
        // Link- and host-scoped addresses (fe80::/10, 127/8) are no network's own address.
        if (am->ifa_scope != RT_SCOPE_UNIVERSE) return;
        int len = static_cast<int>(h->nlmsg_len) - NLMSG_LENGTH(sizeof(ifaddrmsg));
        for (auto* a = IFA_RTA(am); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
          if (a->rta_type != IFA_ADDRESS) continue;
          char text[INET6_ADDRSTRLEN] = {0};
          if (::inet_ntop(am->ifa_family, RTA_DATA(a), text, sizeof text) == nullptr) continue;
          for (auto& l : out)
            if (l.ifindex == static_cast<int>(am->ifa_index)) l.addresses.emplace_back(text);
        }
      },
      "RTM_GETADDR");
  return out;
}

void ClearRootQdisc(int ifindex) {
  Socket s;
  Msg m(RTM_DELQDISC, 0);
  m.Append(RootTcmsg(ifindex));
  std::string ext;
  int rc = s.Request(m, &ext);
  // Nothing to delete: the device has its default root (ENOENT, or EINVAL for handle 0).
  if (rc == -ENOENT || rc == -EINVAL) return;
  ThrowIf(rc, "RTM_DELQDISC", DevCtx(ifindex), ext);
}

std::optional<QdiscInfo> RootQdisc(int ifindex) {
  Socket s;
  Msg m(RTM_GETQDISC, 0);
  tcmsg t{};
  t.tcm_family = AF_UNSPEC;
  t.tcm_ifindex = ifindex;
  m.Append(t);
  std::optional<QdiscInfo> found;
  s.Dump(
      m,
      [&](const nlmsghdr* h) {
        if (h->nlmsg_type != RTM_NEWQDISC) return;
        auto* tm = static_cast<const tcmsg*>(NLMSG_DATA(h));
        if (tm->tcm_ifindex != ifindex || tm->tcm_parent != TC_H_ROOT) return;
        QdiscInfo qi;
        std::optional<uint64_t> rate64;
        uint32_t rate32 = 0;
        int len = static_cast<int>(h->nlmsg_len) - NLMSG_LENGTH(sizeof(tcmsg));
        for (auto* a = reinterpret_cast<const rtattr*>(reinterpret_cast<const uint8_t*>(tm) + NLMSG_ALIGN(sizeof(tcmsg))); RTA_OK(a, len);
             a = RTA_NEXT(a, len)) {
          if (a->rta_type == TCA_KIND) qi.kind = static_cast<const char*>(RTA_DATA(a));
          if (a->rta_type != TCA_OPTIONS) continue;
          int olen = static_cast<int>(RTA_PAYLOAD(a));
          for (auto* o = static_cast<const rtattr*>(RTA_DATA(a)); RTA_OK(o, olen); o = RTA_NEXT(o, olen)) {
            if (o->rta_type == TCA_TBF_PARMS && RTA_PAYLOAD(o) >= sizeof(tc_tbf_qopt))
              rate32 = static_cast<const tc_tbf_qopt*>(RTA_DATA(o))->rate.rate;
            if (o->rta_type == TCA_TBF_RATE64 && RTA_PAYLOAD(o) >= sizeof(uint64_t)) {
              uint64_t v;
              std::memcpy(&v, RTA_DATA(o), sizeof v);
              rate64 = v;
            }
          }
        }
        if (qi.kind == "tbf") qi.rateBitsPerSecond = (rate64 ? *rate64 : rate32) * 8;
        found = qi;
      },
      "RTM_GETQDISC");
  return found;
}

}  // namespace nl

// ---- JS entry points ---------------------------------------------------------------------------

namespace {
std::string Ctx(const std::optional<std::string>& ns, const std::string& ifname) {
  return "on " + ifname + " in " + NetnsLabel(ns ? &*ns : nullptr);
}
ResultBuilder Undef() {
  return [](Napi::Env e) -> Napi::Value { return e.Undefined(); };
}
// Adds the netns/interface to errors raised deep inside, which only know the ifindex.
template <typename F>
auto WithCtx(const std::string& ctx, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (SysError& e) {
    e.context = ctx;
    throw;
  }
}
}  // namespace

Napi::Value NlLinkIndex(const Napi::CallbackInfo& info) {
  auto ns = NetnsArg(info[0]);
  std::string ifname = StringArg(info[1], "ifname");
  return StartNetnsJob(info.Env(), ns, [ifname]() -> ResultBuilder {
    unsigned idx = ::if_nametoindex(ifname.c_str());
    return [idx](Napi::Env e) -> Napi::Value { return idx == 0 ? e.Undefined() : Napi::Number::New(e, idx); };
  });
}

Napi::Value NlCreateIfb(const Napi::CallbackInfo& info) {
  auto ns = NetnsArg(info[0]);
  std::string name = StringArg(info[1], "name");
  if (name.empty() || name.size() >= IF_NAMESIZE) throw Napi::RangeError::New(info.Env(), "interface name must be 1-15 bytes");
  return StartNetnsJob(info.Env(), ns, [ns, name]() -> ResultBuilder {
    int idx = WithCtx(Ctx(ns, name), [&] { return nl::CreateIfb(name); });
    return [idx](Napi::Env e) -> Napi::Value { return Napi::Number::New(e, idx); };
  });
}

Napi::Value NlDeleteLink(const Napi::CallbackInfo& info) {
  auto ns = NetnsArg(info[0]);
  std::string name = StringArg(info[1], "name");
  return StartNetnsJob(info.Env(), ns, [ns, name]() -> ResultBuilder {
    bool removed = WithCtx(Ctx(ns, name), [&] { return nl::DeleteLink(name); });
    return [removed](Napi::Env e) -> Napi::Value { return Napi::Boolean::New(e, removed); };
  });
}

Napi::Value NlSetTbf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto ns = NetnsArg(info[0]);
  std::string ifname = StringArg(info[1], "ifname");
  if (!info[2].IsObject()) throw Napi::TypeError::New(env, "setTbf options must be an object");
  Napi::Object o = info[2].As<Napi::Object>();
  auto num = [&](const char* k) {
    Napi::Value v = o.Get(k);
    if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string(k) + " must be a number");
    double d = v.As<Napi::Number>().DoubleValue();
    if (!(d > 0) || !std::isfinite(d)) throw Napi::RangeError::New(env, std::string(k) + " must be positive");
    return d;
  };
  uint64_t rate = static_cast<uint64_t>(num("rateBitsPerSecond"));
  double burst = num("burstBytes"), limit = num("limitBytes");
  if (burst > double(~0U) || limit > double(~0U)) throw Napi::RangeError::New(env, "burstBytes and limitBytes must fit in 32 bits");
  return StartNetnsJob(env, ns, [ns, ifname, rate, burst, limit]() -> ResultBuilder {
    WithCtx(Ctx(ns, ifname), [&] { nl::SetTbf(IfIndex(ifname, ""), rate, static_cast<uint32_t>(burst), static_cast<uint32_t>(limit)); });
    return Undef();
  });
}

Napi::Value NlSetFlowClasses(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto ns = NetnsArg(info[0]);
  std::string ifname = StringArg(info[1], "ifname");
  if (!info[2].IsObject()) throw Napi::TypeError::New(env, "setFlowClasses options must be an object");
  Napi::Object o = info[2].As<Napi::Object>();
  auto num = [&](const char* k, double max) {
    Napi::Value v = o.Get(k);
    if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string(k) + " must be a number");
    double d = v.As<Napi::Number>().DoubleValue();
    if (!(d > 0) || !std::isfinite(d) || d > max)
      throw Napi::RangeError::New(env, std::string(k) + " must be positive and at most " + std::to_string(max));
    return d;
  };
  nl::FlowClasses f;
  f.rateBitsPerSecond = static_cast<uint64_t>(num("rateBitsPerSecond", 1e15));
  f.leafRateBitsPerSecond = static_cast<uint64_t>(num("leafRateBitsPerSecond", 1e15));
  f.burstBytes = static_cast<uint32_t>(num("burstBytes", double(~0U)));
  f.leafBurstBytes = static_cast<uint32_t>(num("leafBurstBytes", double(~0U)));
  f.leafQueueRateBitsPerSecond = static_cast<uint64_t>(num("leafQueueRateBitsPerSecond", 1e15));
  f.leafQueueBurstBytes = static_cast<uint32_t>(num("leafQueueBurstBytes", double(~0U)));
  f.leafQueueLimitBytes = static_cast<uint32_t>(num("leafQueueLimitBytes", double(~0U)));
  f.quantumBytes = static_cast<uint32_t>(num("quantumBytes", double(~0U)));
  f.major = static_cast<uint16_t>(num("major", 0xfffe));
  f.leafQdiscMajor = static_cast<uint16_t>(num("leafQdiscMajor", 0xfffe));
  Napi::Value minors = o.Get("leafMinors");
  if (!minors.IsArray()) throw Napi::TypeError::New(env, "leafMinors must be an array of class minors");
  Napi::Array a = minors.As<Napi::Array>();
  if (a.Length() == 0 || a.Length() > 1024) throw Napi::RangeError::New(env, "leafMinors must hold 1 to 1024 minors");
  if (double(f.leafQdiscMajor) + a.Length() > 0xffff) throw Napi::RangeError::New(env, "leafQdiscMajor + leaves must stay below 0xffff");
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value v = a.Get(i);
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : 0;
    if (!(d >= 2 && d <= 0xffff) || d != std::floor(d))
      throw Napi::RangeError::New(env, "leafMinors[" + std::to_string(i) + "] must be an integer 2..0xffff (1 is the parent class)");
    f.leafMinors.push_back(static_cast<uint16_t>(d));
  }
  return StartNetnsJob(env, ns, [ns, ifname, f]() -> ResultBuilder {
    WithCtx(Ctx(ns, ifname), [&] { nl::SetFlowClasses(IfIndex(ifname, ""), f); });
    return Undef();
  });
}

Napi::Value NlClearRootQdisc(const Napi::CallbackInfo& info) {
  auto ns = NetnsArg(info[0]);
  std::string ifname = StringArg(info[1], "ifname");
  return StartNetnsJob(info.Env(), ns, [ns, ifname]() -> ResultBuilder {
    WithCtx(Ctx(ns, ifname), [&] { nl::ClearRootQdisc(IfIndex(ifname, "")); });
    return Undef();
  });
}

// The netns's links with their kind and global-scope addresses.
Napi::Value NlLinks(const Napi::CallbackInfo& info) {
  auto ns = NetnsArg(info[0]);
  return StartNetnsJob(info.Env(), ns, [ns]() -> ResultBuilder {
    auto links = WithCtx("in " + NetnsLabel(ns ? &*ns : nullptr), [&] { return nl::Links(); });
    return [links](Napi::Env e) -> Napi::Value {
      Napi::Array a = Napi::Array::New(e, links.size());
      for (size_t i = 0; i < links.size(); i++) {
        const auto& l = links[i];
        Napi::Object o = Napi::Object::New(e);
        o.Set("ifindex", Napi::Number::New(e, l.ifindex));
        o.Set("name", l.name);
        o.Set("kind", l.kind);
        o.Set("loopback", Napi::Boolean::New(e, l.loopback));
        o.Set("up", Napi::Boolean::New(e, l.up));
        Napi::Array addrs = Napi::Array::New(e, l.addresses.size());
        for (size_t j = 0; j < l.addresses.size(); j++) addrs.Set(static_cast<uint32_t>(j), l.addresses[j]);
        o.Set("addresses", addrs);
        a.Set(static_cast<uint32_t>(i), o);
      }
      return a;
    };
  });
}

Napi::Value NlRootQdisc(const Napi::CallbackInfo& info) {
  auto ns = NetnsArg(info[0]);
  std::string ifname = StringArg(info[1], "ifname");
  return StartNetnsJob(info.Env(), ns, [ns, ifname]() -> ResultBuilder {
    auto q = WithCtx(Ctx(ns, ifname), [&] { return nl::RootQdisc(IfIndex(ifname, "")); });
    return [q](Napi::Env e) -> Napi::Value {
      if (!q) return e.Undefined();
      Napi::Object r = Napi::Object::New(e);
      r.Set("kind", q->kind);
      if (q->rateBitsPerSecond) r.Set("rateBitsPerSecond", Napi::Number::New(e, double(*q->rateBitsPerSecond)));
      return r;
    };
  });
}

}  // namespace weir
