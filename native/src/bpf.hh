// Wrappers over libbpf objects, programs and maps. An ObjectHandle owns the bpf_object; program and
// map wrappers share it (shared_ptr), so their fds stay valid until the last user lets go, and any
// use after an explicit close() fails with EBADF instead of touching a recycled fd.
#pragma once

#include <bpf/libbpf.h>

#include <optional>

#include "common.hh"

namespace weir {

struct ObjectHandle {
  bpf_object* obj = nullptr;
  std::string path;
  ObjectHandle() = default;
  ObjectHandle(const ObjectHandle&) = delete;
  ObjectHandle& operator=(const ObjectHandle&) = delete;
  ~ObjectHandle() { Close(); }
  void Close() {
    if (obj != nullptr) bpf_object__close(obj);
    obj = nullptr;
  }
};

class BpfObjectWrap : public Napi::ObjectWrap<BpfObjectWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit BpfObjectWrap(const Napi::CallbackInfo& info);
  static Napi::Object NewInstance(Napi::Env env, std::shared_ptr<ObjectHandle> handle);

 private:
  Napi::Value Program(const Napi::CallbackInfo& info);
  Napi::Value Map(const Napi::CallbackInfo& info);
  Napi::Value ProgramNames(const Napi::CallbackInfo& info);
  Napi::Value MapNames(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  bpf_object* Live() const;
  std::shared_ptr<ObjectHandle> handle_;
};

class BpfProgramWrap : public Napi::ObjectWrap<BpfProgramWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit BpfProgramWrap(const Napi::CallbackInfo& info);
  static Napi::Object NewInstance(Napi::Env env, std::shared_ptr<ObjectHandle> handle, bpf_program* prog);
  // The program's fd, or throws EBADF if its object was closed.
  int LiveFd() const;

 private:
  Napi::Value GetName(const Napi::CallbackInfo& info);
  Napi::Value GetFd(const Napi::CallbackInfo& info);
  Napi::Value GetId(const Napi::CallbackInfo& info);
  Napi::Value Pin(const Napi::CallbackInfo& info);
  Napi::Value Unpin(const Napi::CallbackInfo& info);
  Napi::Value TestRun(const Napi::CallbackInfo& info);
  std::shared_ptr<ObjectHandle> handle_;
  bpf_program* prog_ = nullptr;
  std::string name_;
  uint32_t id_ = 0;
};

struct MapInit {
  std::shared_ptr<ObjectHandle> owner;  // set for maps of a loaded object
  Fd owned;                             // set for maps opened from a pin
  int fd = -1;
  std::string name;
  uint32_t type = 0, keySize = 0, valueSize = 0, maxEntries = 0;
};

class BpfMapWrap : public Napi::ObjectWrap<BpfMapWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit BpfMapWrap(const Napi::CallbackInfo& info);
  static Napi::Object NewInstance(Napi::Env env, MapInit&& init);
  int LiveFd() const;
  const std::string& Name() const { return init_.name; }
  uint32_t Type() const { return init_.type; }

 private:
  Napi::Value Lookup(const Napi::CallbackInfo& info);
  Napi::Value LookupPerCpu(const Napi::CallbackInfo& info);
  Napi::Value Update(const Napi::CallbackInfo& info);
  Napi::Value Delete(const Napi::CallbackInfo& info);
  Napi::Value Keys(const Napi::CallbackInfo& info);
  Napi::Value UpdateBatch(const Napi::CallbackInfo& info);
  Napi::Value DeleteBatch(const Napi::CallbackInfo& info);
  Napi::Value LookupBatch(const Napi::CallbackInfo& info);
  Napi::Value Pin(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  bool PerCpu() const;
  size_t ValueBytes() const;  // bytes the kernel reads/writes per value (all CPUs for per-CPU maps)
  void CheckKey(const Napi::Buffer<uint8_t>& key) const;
  std::string Ctx() const { return "on map " + init_.name; }
  MapInit init_;
  bool closed_ = false;
};

// Module-level functions.
Napi::Value OpenObject(const Napi::CallbackInfo& info);
Napi::Value OpenPinnedMap(const Napi::CallbackInfo& info);
Napi::Value PinnedProgramId(const Napi::CallbackInfo& info);
// Makes sure bpffs is mounted at /sys/fs/bpf when `dir` lies under it, then creates `dir`.
void EnsureBpffsDir(const std::string& dir);

}  // namespace weir
