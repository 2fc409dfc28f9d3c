// BPF map operations: single-element CRUD, key iteration, batch ops with a per-element fallback
// for map types the kernel cannot batch (LPM tries), per-CPU values, pinning.
#include <bpf/bpf.h>
#include <sys/stat.h>

#include <vector>

#include "bpf.hh"

namespace weir {

namespace {

int PossibleCpus() {
  static int n = libbpf_num_possible_cpus();
  return n;
}

bool IsPerCpuType(uint32_t t) {
  return t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
         t == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

// Kernel answers for "this map type has no batch op".
bool BatchUnsupported(int rc) {
  return rc == -EINVAL || rc == -EOPNOTSUPP || rc == -524 /* ENOTSUPP */;
}

uint64_t FlagsArg(const Napi::Value& v) {
  if (v.IsUndefined()) return BPF_ANY;
  std::string f = StringArg(v, "flags");
  if (f == "any") return BPF_ANY;
  if (f == "noexist") return BPF_NOEXIST;
  if (f == "exist") return BPF_EXIST;
  throw Napi::TypeError::New(v.Env(), "flags must be 'any', 'noexist' or 'exist'");
}

}  // namespace

Napi::Value OpenPinnedMap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = StringArg(info[0], "path");
  return Guard(env, [&]() -> Napi::Value {
    MapInit init;
    init.owned = Fd(Check(bpf_obj_get(path.c_str()), "bpf_obj_get", path));
    init.fd = init.owned.Get();
    bpf_map_info mi{};
    uint32_t len = sizeof mi;
    Check(bpf_obj_get_info_by_fd(init.fd, &mi, &len), "bpf_obj_get_info_by_fd", path);
    if (mi.key_size == 0 && mi.value_size == 0 && mi.max_entries == 0) throw SysError{"bpf_obj_get", EINVAL, path, "not a map"};
    init.name = mi.name;
    init.type = mi.type;
    init.keySize = mi.key_size;
    init.valueSize = mi.value_size;
    init.maxEntries = mi.max_entries;
    return BpfMapWrap::NewInstance(env, std::move(init));
  });
}

Napi::Function BpfMapWrap::Define(Napi::Env env) {
  return DefineClass(
      env, "BpfMap",
      {InstanceMethod("lookup", &BpfMapWrap::Lookup), InstanceMethod("lookupPerCpu", &BpfMapWrap::LookupPerCpu),
       InstanceMethod("update", &BpfMapWrap::Update), InstanceMethod("delete", &BpfMapWrap::Delete),
       InstanceMethod("keys", &BpfMapWrap::Keys), InstanceMethod("updateBatch", &BpfMapWrap::UpdateBatch),
       InstanceMethod("deleteBatch", &BpfMapWrap::DeleteBatch), InstanceMethod("lookupBatch", &BpfMapWrap::LookupBatch),
       InstanceMethod("pin", &BpfMapWrap::Pin), InstanceMethod("close", &BpfMapWrap::Close), InstanceMethod("info", &BpfMapWrap::Info)});
}

BpfMapWrap::BpfMapWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfMapWrap>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "BpfMap is created by the addon");
  init_ = std::move(*info[0].As<Napi::External<MapInit>>().Data());
}

Napi::Object BpfMapWrap::NewInstance(Napi::Env env, MapInit&& init) {
  MapInit local = std::move(init);
  return Data(env).bpfMapCtor.New({Napi::External<MapInit>::New(env, &local)});
}

Napi::Value BpfMapWrap::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", init_.name);
  o.Set("type", init_.type);
  o.Set("keySize", init_.keySize);
  o.Set("valueSize", init_.valueSize);
  o.Set("maxEntries", init_.maxEntries);
  bool live = !closed_ && (init_.owner == nullptr || init_.owner->obj != nullptr);
  o.Set("fd", live ? init_.fd : -1);
  return o;
}

int BpfMapWrap::LiveFd() const {
  if (closed_ || (init_.owner != nullptr && init_.owner->obj == nullptr) || init_.fd < 0)
    throw SysError{"bpf_map", EBADF, Ctx() + " (closed)", ""};
  return init_.fd;
}

bool BpfMapWrap::PerCpu() const {
  return IsPerCpuType(init_.type);
}

size_t BpfMapWrap::ValueBytes() const {
  if (!PerCpu()) return init_.valueSize;
  return ((init_.valueSize + 7) / 8) * 8 * static_cast<size_t>(PossibleCpus());
}

void BpfMapWrap::CheckKey(const Napi::Buffer<uint8_t>& key) const {
  if (key.Length() != init_.keySize)
    throw SysError{"validate key", EINVAL, Ctx(),
                   "key is " + std::to_string(key.Length()) + " bytes, map wants " + std::to_string(init_.keySize)};
}

Napi::Value BpfMapWrap::Lookup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto key = BufferArg(info[0], "key");
  return Guard(env, [&]() -> Napi::Value {
    CheckKey(key);
    std::vector<uint8_t> value(ValueBytes());
    int rc = bpf_map_lookup_elem(LiveFd(), key.Data(), value.data());
    if (rc == -ENOENT) return env.Undefined();
    Check(rc, "bpf_map_lookup_elem", Ctx());
    return Napi::Buffer<uint8_t>::Copy(env, value.data(), value.size());
  });
}

Napi::Value BpfMapWrap::LookupPerCpu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto key = BufferArg(info[0], "key");
  return Guard(env, [&]() -> Napi::Value {
    if (!PerCpu()) throw SysError{"lookupPerCpu", EINVAL, Ctx(), "not a per-CPU map"};
    CheckKey(key);
    std::vector<uint8_t> value(ValueBytes());
    int rc = bpf_map_lookup_elem(LiveFd(), key.Data(), value.data());
    if (rc == -ENOENT) return Napi::Array::New(env);  // no entry: no CPU has a value
    Check(rc, "bpf_map_lookup_elem", Ctx());
    size_t stride = ((init_.valueSize + 7) / 8) * 8;
    Napi::Array out = Napi::Array::New(env);
    for (int c = 0; c < PossibleCpus(); c++)
      out.Set(uint32_t(c), Napi::Buffer<uint8_t>::Copy(env, value.data() + c * stride, init_.valueSize));
    return out;
  });
}

Napi::Value BpfMapWrap::Update(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto key = BufferArg(info[0], "key");
  auto value = BufferArg(info[1], "value");
  uint64_t flags = FlagsArg(info[2]);
  Guard(env, [&] {
    CheckKey(key);
    std::vector<uint8_t> buf;
    const uint8_t* v = value.Data();
    if (PerCpu() && value.Length() == init_.valueSize) {
      // One value for every CPU (typically zeroing a counter).
      size_t stride = ((init_.valueSize + 7) / 8) * 8;
      buf.assign(ValueBytes(), 0);
      for (int c = 0; c < PossibleCpus(); c++) std::memcpy(buf.data() + c * stride, value.Data(), init_.valueSize);
      v = buf.data();
    } else if (value.Length() != ValueBytes()) {
      throw SysError{"validate value", EINVAL, Ctx(),
                     "value is " + std::to_string(value.Length()) + " bytes, map wants " + std::to_string(ValueBytes())};
    }
    Check(bpf_map_update_elem(LiveFd(), key.Data(), v, flags), "bpf_map_update_elem", Ctx());
  });
  return env.Undefined();
}

Napi::Value BpfMapWrap::Delete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto key = BufferArg(info[0], "key");
  return Guard(env, [&]() -> Napi::Value {
    CheckKey(key);
    int rc = bpf_map_delete_elem(LiveFd(), key.Data());
    if (rc == -ENOENT) return Napi::Boolean::New(env, false);
    Check(rc, "bpf_map_delete_elem", Ctx());
    return Napi::Boolean::New(env, true);
  });
}

Napi::Value BpfMapWrap::Keys(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    int fd = LiveFd();
    Napi::Array out = Napi::Array::New(env);
    std::vector<uint8_t> cur(init_.keySize), next(init_.keySize);
    const void* prev = nullptr;
    uint32_t n = 0;
    for (;;) {
      int rc = bpf_map_get_next_key(fd, prev, next.data());
      if (rc == -ENOENT) break;
      Check(rc, "bpf_map_get_next_key", Ctx());
      out.Set(n++, Napi::Buffer<uint8_t>::Copy(env, next.data(), next.size()));
      cur.swap(next);
      prev = cur.data();
    }
    return out;
  });
}

Napi::Value BpfMapWrap::UpdateBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray() || !info[1].IsArray()) throw Napi::TypeError::New(env, "updateBatch(keys, values) takes two arrays");
  Napi::Array ka = info[0].As<Napi::Array>(), va = info[1].As<Napi::Array>();
  if (ka.Length() != va.Length()) throw Napi::TypeError::New(env, "updateBatch: keys and values differ in length");
  uint32_t n = ka.Length();
  Guard(env, [&] {
    int fd = LiveFd();
    size_t vb = ValueBytes();
    std::vector<uint8_t> keys(size_t(n) * init_.keySize), values(size_t(n) * vb);
    for (uint32_t i = 0; i < n; i++) {
      auto k = BufferArg(ka.Get(i), "key");
      auto v = BufferArg(va.Get(i), "value");
      CheckKey(k);
      if (v.Length() != vb) throw SysError{"validate value", EINVAL, Ctx(), "value " + std::to_string(i) + " has the wrong size"};
      std::memcpy(keys.data() + size_t(i) * init_.keySize, k.Data(), init_.keySize);
      std::memcpy(values.data() + size_t(i) * vb, v.Data(), vb);
    }
    if (n == 0) return;
    uint32_t count = n;
    bpf_map_batch_opts bo{};
    bo.sz = sizeof bo;
    int rc = bpf_map_update_batch(fd, keys.data(), values.data(), &count, &bo);
    if (rc == 0) return;
    if (!BatchUnsupported(rc)) Check(rc, "bpf_map_update_batch", Ctx());
    for (uint32_t i = 0; i < n; i++)
      Check(bpf_map_update_elem(fd, keys.data() + size_t(i) * init_.keySize, values.data() + size_t(i) * vb, BPF_ANY),
            "bpf_map_update_elem", Ctx());
  });
  return env.Undefined();
}

Napi::Value BpfMapWrap::DeleteBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) throw Napi::TypeError::New(env, "deleteBatch(keys) takes an array");
  Napi::Array ka = info[0].As<Napi::Array>();
  uint32_t n = ka.Length();
  return Guard(env, [&]() -> Napi::Value {
    int fd = LiveFd();
    std::vector<uint8_t> keys(size_t(n) * init_.keySize);
    for (uint32_t i = 0; i < n; i++) {
      auto k = BufferArg(ka.Get(i), "key");
      CheckKey(k);
      std::memcpy(keys.data() + size_t(i) * init_.keySize, k.Data(), init_.keySize);
    }
    uint32_t deleted = 0, start = 0;
    if (n > 0) {
      uint32_t count = n;
      bpf_map_batch_opts bo{};
      bo.sz = sizeof bo;
      int rc = bpf_map_delete_batch(fd, keys.data(), &count, &bo);
      if (rc == 0) return Napi::Number::New(env, n);
      if (rc == -ENOENT) {
        // The kernel stops at the first missing key; `count` were deleted before it.
        deleted = count;
        start = count + 1;
      } else if (!BatchUnsupported(rc)) {
        Check(rc, "bpf_map_delete_batch", Ctx());
      }
    }
    for (uint32_t i = start; i < n; i++) {
      int rc = bpf_map_delete_elem(fd, keys.data() + size_t(i) * init_.keySize);
      if (rc == -ENOENT) continue;
      Check(rc, "bpf_map_delete_elem", Ctx());
      deleted++;
    }
    return Napi::Number::New(env, deleted);
  });
}

Napi::Value BpfMapWrap::LookupBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    int fd = LiveFd();
    size_t vb = ValueBytes();
    Napi::Array outKeys = Napi::Array::New(env), outValues = Napi::Array::New(env);
    uint32_t total = 0;
    auto push = [&](const uint8_t* k, const uint8_t* v) {
      outKeys.Set(total, Napi::Buffer<uint8_t>::Copy(env, k, init_.keySize));
      outValues.Set(total, Napi::Buffer<uint8_t>::Copy(env, v, vb));
      total++;
    };
    uint32_t chunk = std::max<uint32_t>(1, std::min<uint32_t>(init_.maxEntries, 4096));
    std::vector<uint8_t> keys(size_t(chunk) * init_.keySize), values(size_t(chunk) * vb);
    std::vector<uint8_t> inTok(std::max<uint32_t>(init_.keySize, 8)), outTok(inTok.size());
    bool first = true, useBatch = true;
    for (;;) {
      uint32_t count = chunk;
      bpf_map_batch_opts bo{};
      bo.sz = sizeof bo;
      int rc = bpf_map_lookup_batch(fd, first ? nullptr : inTok.data(), outTok.data(), keys.data(), values.data(), &count, &bo);
      if (rc < 0 && rc != -ENOENT) {
        if (first && BatchUnsupported(rc)) {
          useBatch = false;
          break;
        }
        Check(rc, "bpf_map_lookup_batch", Ctx());
      }
      for (uint32_t i = 0; i < count; i++) push(keys.data() + size_t(i) * init_.keySize, values.data() + size_t(i) * vb);
      if (rc == -ENOENT) break;
      inTok.swap(outTok);
      first = false;
    }
    if (!useBatch) {
      std::vector<uint8_t> cur(init_.keySize), next(init_.keySize), value(vb);
      const void* prev = nullptr;
      for (;;) {
        int rc = bpf_map_get_next_key(fd, prev, next.data());
        if (rc == -ENOENT) break;
        Check(rc, "bpf_map_get_next_key", Ctx());
        rc = bpf_map_lookup_elem(fd, next.data(), value.data());
        if (rc == 0)
          push(next.data(), value.data());
        else if (rc != -ENOENT)
          Check(rc, "bpf_map_lookup_elem", Ctx());
        cur.swap(next);
        prev = cur.data();
      }
    }
    Napi::Object r = Napi::Object::New(env);
    r.Set("keys", outKeys);
    r.Set("values", outValues);
    return r;
  });
}

Napi::Value BpfMapWrap::Pin(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info[0], "path");
  Guard(info.Env(), [&] {
    size_t slash = path.rfind('/');
    if (slash != std::string::npos && slash > 0) EnsureBpffsDir(path.substr(0, slash));
    Check(bpf_obj_pin(LiveFd(), path.c_str()), "bpf_obj_pin", Ctx() + " at " + path);
  });
  return info.Env().Undefined();
}

Napi::Value BpfMapWrap::Close(const Napi::CallbackInfo& info) {
  // Maps of an object share the object's fd (closed with the object); pinned maps own theirs.
  closed_ = true;
  init_.owned.Reset();
  init_.owner.reset();
  return info.Env().Undefined();
}

}  // namespace weir
