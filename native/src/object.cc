// BPF objects and programs: open + configure .rodata + load (libbpf's canonical order), pin,
// BPF_PROG_TEST_RUN.
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <cmath>
#include <vector>

#include "bpf.hh"

namespace weir {

namespace {

constexpr const char* kBpffs = "/sys/fs/bpf";

void MkdirP(const std::string& dir) {
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    cur = dir.substr(0, pos);
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), 0700) < 0 && errno != EEXIST) throw SysError{"mkdir", errno, cur, ""};
  }
}

bool IsBpffs(const char* path) {
  struct statfs st {};
  return ::statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

uint32_t ProgId(int fd) {
  bpf_prog_info info{};
  uint32_t len = sizeof info;
  Check(bpf_obj_get_info_by_fd(fd, &info, &len), "bpf_obj_get_info_by_fd");
  return info.id;
}

// Strips typedef/const/volatile to the type that says whether a global is a plain scalar.
const btf_type* SkipMods(const btf* b, uint32_t id) {
  const btf_type* t = btf__type_by_id(b, id);
  while (t != nullptr && (btf_is_mod(t) || btf_is_typedef(t))) t = btf__type_by_id(b, t->type);
  return t;
}

// Encodes a JS number/bigint/boolean into `size` little-endian bytes, refusing values that do not fit.
void EncodeScalar(const Napi::Value& v, size_t size, uint8_t* out, const std::string& name) {
  Napi::Env env = v.Env();
  uint64_t bits = 0;
  if (v.IsBoolean()) {
    bits = v.As<Napi::Boolean>().Value() ? 1 : 0;
  } else if (v.IsBigInt()) {
    bool lossless = false;
    int64_t s = v.As<Napi::BigInt>().Int64Value(&lossless);
    if (lossless) {
      bits = static_cast<uint64_t>(s);
      if (size < 8) {
        int64_t lo = -(int64_t(1) << (size * 8 - 1)), hi = (int64_t(1) << (size * 8)) - 1;
        if (s < lo || s > hi) throw Napi::RangeError::New(env, "constant " + name + " does not fit in " + std::to_string(size) + " bytes");
      }
    } else {
      bits = v.As<Napi::BigInt>().Uint64Value(&lossless);
      if (!lossless || size < 8)
        throw Napi::RangeError::New(env, "constant " + name + " does not fit in " + std::to_string(size) + " bytes");
    }
  } else if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d) || std::floor(d) != d || std::fabs(d) > 9007199254740991.0)
      throw Napi::RangeError::New(env, "constant " + name + " must be a safe integer (use a bigint for 64-bit values)");
    if (size < 8) {
      double lo = -std::ldexp(1.0, int(size * 8 - 1)), hi = std::ldexp(1.0, int(size * 8)) - 1;
      if (d < lo || d > hi) throw Napi::RangeError::New(env, "constant " + name + " does not fit in " + std::to_string(size) + " bytes");
    }
    bits = d < 0 ? static_cast<uint64_t>(static_cast<int64_t>(d)) : static_cast<uint64_t>(d);
  } else {
    throw Napi::TypeError::New(env, "constant " + name + " must be a number, bigint or boolean");
  }
  for (size_t i = 0; i < size; i++) out[i] = static_cast<uint8_t>(bits >> (8 * i));
}

// Writes `const volatile` globals into the object's .rodata image before load, locating each
// variable by name in the .rodata DATASEC of the object's BTF.
void SetConstants(Napi::Env env, bpf_object* obj, const Napi::Object& constants, const std::string& path) {
  Napi::Array names = constants.GetPropertyNames();
  if (names.Length() == 0) return;
  bpf_map* rodata = nullptr;
  bpf_map* m = nullptr;
  bpf_object__for_each_map(m, obj) {
    std::string n = bpf_map__name(m);
    if (n.size() >= 7 && n.compare(n.size() - 7, 7, ".rodata") == 0) rodata = m;
  }
  const btf* b = bpf_object__btf(obj);
  int secId = b == nullptr ? -ENOENT : btf__find_by_name_kind(b, ".rodata", BTF_KIND_DATASEC);
  if (rodata == nullptr || secId < 0)
    throw SysError{"constants", ENOENT, "in " + path, "the object has no .rodata (no const volatile globals)"};
  size_t imageSize = 0;
  // Edit a copy of the image and hand it back: libbpf 1.1 exposes the image read-only.
  const auto* initial = static_cast<const uint8_t*>(bpf_map__initial_value(rodata, &imageSize));
  if (initial == nullptr) throw SysError{"bpf_map__initial_value", EINVAL, "in " + path, ""};
  std::vector<uint8_t> copy(initial, initial + imageSize);
  uint8_t* image = copy.data();
  const btf_type* sec = btf__type_by_id(b, secId);
  const btf_var_secinfo* vars = btf_var_secinfos(sec);
  uint16_t nvars = btf_vlen(sec);

  for (uint32_t i = 0; i < names.Length(); i++) {
    std::string name = names.Get(i).As<Napi::String>().Utf8Value();
    const btf_var_secinfo* found = nullptr;
    std::string known;
    for (uint16_t j = 0; j < nvars; j++) {
      const btf_type* var = btf__type_by_id(b, vars[j].type);
      const char* vn = var == nullptr ? nullptr : btf__name_by_offset(b, var->name_off);
      if (vn == nullptr) continue;
      if (name == vn) found = &vars[j];
      known += (known.empty() ? "" : ", ") + std::string(vn);
    }
    if (found == nullptr)
      throw SysError{"constants", ENOENT, "in " + path, "no const volatile global named '" + name + "'; known: " + known};
    const btf_type* var = btf__type_by_id(b, found->type);
    const btf_type* t = SkipMods(b, var->type);
    bool scalar = t != nullptr && (btf_is_int(t) || btf_is_enum(t) || btf_is_enum64(t));
    size_t size = found->size;
    if (!scalar || (size != 1 && size != 2 && size != 4 && size != 8))
      throw SysError{"constants", EINVAL, "in " + path, "'" + name + "' is not a 1/2/4/8-byte integer"};
    if (found->offset + size > imageSize) throw SysError{"constants", ERANGE, "in " + path, "'" + name + "' lies outside .rodata"};
    EncodeScalar(constants.Get(name), size, image + found->offset, name);
  }
  Check(bpf_map__set_initial_value(rodata, copy.data(), copy.size()), "bpf_map__set_initial_value", "in " + path);
}

}  // namespace

void EnsureBpffsDir(const std::string& dir) {
  std::string root = kBpffs;
  if (dir.compare(0, root.size(), root) == 0 && !IsBpffs(kBpffs)) {
    MkdirP(root);
    if (::mount("bpf", kBpffs, "bpf", 0, "mode=0700") < 0) throw SysError{"mount bpffs", errno, "at " + root, ""};
  }
  MkdirP(dir);
}

Napi::Value OpenObject(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "openObject options must be an object");
  Napi::Object opts = info[0].As<Napi::Object>();
  std::string path = StringArg(opts.Get("path"), "path");
  std::optional<std::string> pinRoot;
  if (!opts.Get("pinRoot").IsUndefined()) pinRoot = StringArg(opts.Get("pinRoot"), "pinRoot");
  Napi::Value constants = opts.Get("constants");
  if (!constants.IsUndefined() && !constants.IsObject()) throw Napi::TypeError::New(env, "constants must be an object");

  return Guard(env, [&]() -> Napi::Value {
    if (pinRoot) EnsureBpffsDir(*pinRoot);
    LibbpfLogCapture log;
    bpf_object_open_opts oo{};
    oo.sz = sizeof oo;
    if (pinRoot) oo.pin_root_path = pinRoot->c_str();
    auto handle = std::make_shared<ObjectHandle>();
    handle->path = path;
    handle->obj = bpf_object__open_file(path.c_str(), &oo);
    if (handle->obj == nullptr) {
      int e = errno;
      handle->obj = nullptr;
      throw SysError{"bpf_object__open_file", e, path, log.Tail(2000)};
    }
    if (!pinRoot) {
      // libbpf would otherwise pin LIBBPF_PIN_BY_NAME maps under /sys/fs/bpf and silently share
      // them with every other unpinned load; without a pinRoot every map is private to the object.
      bpf_map* m = nullptr;
      bpf_object__for_each_map(m, handle->obj) Check(bpf_map__set_pin_path(m, nullptr), "bpf_map__set_pin_path", path);
    }
    if (constants.IsObject()) SetConstants(env, handle->obj, constants.As<Napi::Object>(), path);
    int rc = bpf_object__load(handle->obj);
    if (rc < 0) throw SysError{"bpf_object__load", -rc, path, log.Tail(6000)};
    return BpfObjectWrap::NewInstance(env, handle);
  });
}

Napi::Value PinnedProgramId(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = StringArg(info[0], "path");
  return Guard(env, [&]() -> Napi::Value {
    int fd = bpf_obj_get(path.c_str());
    if (fd == -ENOENT) return env.Undefined();
    Fd owned(Check(fd, "bpf_obj_get", path));
    return Napi::Number::New(env, ProgId(owned.Get()));
  });
}

// ---- BpfObject ---------------------------------------------------------------------------------

Napi::Function BpfObjectWrap::Define(Napi::Env env) {
  return DefineClass(env, "BpfObject",
                     {InstanceMethod("program", &BpfObjectWrap::Program), InstanceMethod("map", &BpfObjectWrap::Map),
                      InstanceMethod("programNames", &BpfObjectWrap::ProgramNames), InstanceMethod("mapNames", &BpfObjectWrap::MapNames),
                      InstanceMethod("close", &BpfObjectWrap::Close)});
}

BpfObjectWrap::BpfObjectWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfObjectWrap>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "BpfObject is created by openObject()");
  handle_ = *info[0].As<Napi::External<std::shared_ptr<ObjectHandle>>>().Data();
}

Napi::Object BpfObjectWrap::NewInstance(Napi::Env env, std::shared_ptr<ObjectHandle> handle) {
  auto ext = Napi::External<std::shared_ptr<ObjectHandle>>::New(env, &handle);
  return Data(env).bpfObjectCtor.New({ext});
}

bpf_object* BpfObjectWrap::Live() const {
  if (handle_ == nullptr || handle_->obj == nullptr) throw SysError{"bpf_object", EBADF, "(closed)", ""};
  return handle_->obj;
}

Napi::Value BpfObjectWrap::Program(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = StringArg(info[0], "program name");
  return Guard(env, [&]() -> Napi::Value {
    bpf_program* p = bpf_object__find_program_by_name(Live(), name.c_str());
    if (p == nullptr) throw SysError{"bpf_object__find_program_by_name", ENOENT, "'" + name + "' in " + handle_->path, ""};
    return BpfProgramWrap::NewInstance(env, handle_, p);
  });
}

Napi::Value BpfObjectWrap::Map(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = StringArg(info[0], "map name");
  return Guard(env, [&]() -> Napi::Value {
    bpf_map* m = bpf_object__find_map_by_name(Live(), name.c_str());
    if (m == nullptr) throw SysError{"bpf_object__find_map_by_name", ENOENT, "'" + name + "' in " + handle_->path, ""};
    MapInit init;
    init.owner = handle_;
    init.fd = bpf_map__fd(m);
    init.name = name;
    init.type = bpf_map__type(m);
    init.keySize = bpf_map__key_size(m);
    init.valueSize = bpf_map__value_size(m);
    init.maxEntries = bpf_map__max_entries(m);
    return BpfMapWrap::NewInstance(env, std::move(init));
  });
}

Napi::Value BpfObjectWrap::ProgramNames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    Napi::Array out = Napi::Array::New(env);
    bpf_program* p = nullptr;
    uint32_t i = 0;
    bpf_object__for_each_program(p, Live()) out.Set(i++, Napi::String::New(env, bpf_program__name(p)));
    return out;
  });
}

Napi::Value BpfObjectWrap::MapNames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    Napi::Array out = Napi::Array::New(env);
    bpf_map* m = nullptr;
    uint32_t i = 0;
    bpf_object__for_each_map(m, Live()) out.Set(i++, Napi::String::New(env, bpf_map__name(m)));
    return out;
  });
}

Napi::Value BpfObjectWrap::Close(const Napi::CallbackInfo& info) {
  if (handle_ != nullptr) handle_->Close();
  return info.Env().Undefined();
}

// ---- BpfProgram --------------------------------------------------------------------------------

Napi::Function BpfProgramWrap::Define(Napi::Env env) {
  return DefineClass(env, "BpfProgram",
                     {InstanceAccessor("name", &BpfProgramWrap::GetName, nullptr), InstanceAccessor("fd", &BpfProgramWrap::GetFd, nullptr),
                      InstanceAccessor("id", &BpfProgramWrap::GetId, nullptr), InstanceMethod("pin", &BpfProgramWrap::Pin),
                      InstanceMethod("unpin", &BpfProgramWrap::Unpin), InstanceMethod("testRun", &BpfProgramWrap::TestRun)});
}

struct ProgInit {
  std::shared_ptr<ObjectHandle> handle;
  bpf_program* prog;
};

BpfProgramWrap::BpfProgramWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfProgramWrap>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "BpfProgram is created by BpfObject.program()");
  ProgInit* init = info[0].As<Napi::External<ProgInit>>().Data();
  handle_ = init->handle;
  prog_ = init->prog;
  name_ = bpf_program__name(prog_);
  Guard(info.Env(), [&] { id_ = ProgId(LiveFd()); });
}

Napi::Object BpfProgramWrap::NewInstance(Napi::Env env, std::shared_ptr<ObjectHandle> handle, bpf_program* prog) {
  ProgInit init{std::move(handle), prog};
  return Data(env).bpfProgramCtor.New({Napi::External<ProgInit>::New(env, &init)});
}

int BpfProgramWrap::LiveFd() const {
  if (handle_ == nullptr || handle_->obj == nullptr) throw SysError{"bpf_program", EBADF, name_ + " (object closed)", ""};
  int fd = bpf_program__fd(prog_);
  if (fd < 0) throw SysError{"bpf_program__fd", -fd, name_, ""};
  return fd;
}

Napi::Value BpfProgramWrap::GetName(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), name_);
}
Napi::Value BpfProgramWrap::GetFd(const Napi::CallbackInfo& info) {
  bool live = handle_ != nullptr && handle_->obj != nullptr;
  return Napi::Number::New(info.Env(), live ? bpf_program__fd(prog_) : -1);
}
Napi::Value BpfProgramWrap::GetId(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), id_);
}

Napi::Value BpfProgramWrap::Pin(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info[0], "path");
  Guard(info.Env(), [&] {
    size_t slash = path.rfind('/');
    if (slash != std::string::npos && slash > 0) EnsureBpffsDir(path.substr(0, slash));
    Check(bpf_obj_pin(LiveFd(), path.c_str()), "bpf_obj_pin", name_ + " at " + path);
  });
  return info.Env().Undefined();
}

Napi::Value BpfProgramWrap::Unpin(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info[0], "path");
  Guard(info.Env(), [&] {
    if (::unlink(path.c_str()) < 0 && errno != ENOENT) throw SysError{"unlink", errno, path, ""};
  });
  return info.Env().Undefined();
}

Napi::Value BpfProgramWrap::TestRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "testRun options must be an object");
  Napi::Object o = info[0].As<Napi::Object>();
  Napi::Buffer<uint8_t> data = BufferArg(o.Get("data"), "data");
  std::optional<Napi::Buffer<uint8_t>> ctx;
  if (!o.Get("ctx").IsUndefined()) ctx = BufferArg(o.Get("ctx"), "ctx");
  uint32_t repeat = o.Get("repeat").IsUndefined() ? 1 : o.Get("repeat").As<Napi::Number>().Uint32Value();
  // Room for programs that grow the packet (encap, adjust_room).
  size_t outSize = o.Get("dataSizeOut").IsUndefined() ? data.Length() + 256 : o.Get("dataSizeOut").As<Napi::Number>().Uint32Value();

  return Guard(env, [&]() -> Napi::Value {
    std::vector<uint8_t> dataOut(outSize);
    std::vector<uint8_t> ctxOut(ctx ? ctx->Length() : 0);
    bpf_test_run_opts t{};
    t.sz = sizeof t;
    t.data_in = data.Data();
    t.data_size_in = static_cast<uint32_t>(data.Length());
    t.data_out = dataOut.data();
    t.data_size_out = static_cast<uint32_t>(dataOut.size());
    if (ctx) {
      t.ctx_in = ctx->Data();
      t.ctx_size_in = static_cast<uint32_t>(ctx->Length());
      t.ctx_out = ctxOut.data();
      t.ctx_size_out = static_cast<uint32_t>(ctxOut.size());
    }
    t.repeat = repeat;
    Check(bpf_prog_test_run_opts(LiveFd(), &t), "bpf_prog_test_run_opts", name_);
    Napi::Object r = Napi::Object::New(env);
    r.Set("retval", Napi::Number::New(env, t.retval));
    r.Set("durationNs", Napi::Number::New(env, t.duration));
    r.Set("data", Napi::Buffer<uint8_t>::Copy(env, dataOut.data(), std::min<size_t>(t.data_size_out, dataOut.size())));
    if (ctx) r.Set("ctx", Napi::Buffer<uint8_t>::Copy(env, ctxOut.data(), std::min<size_t>(t.ctx_size_out, ctxOut.size())));
    return r;
  });
}

}  // namespace weir
