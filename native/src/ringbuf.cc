// Ring-buffer consumer: ring_buffer__poll on its own thread; records go to JavaScript in batches
// through a ThreadSafeFunction. The queue is bounded, so a slow consumer backs up into the kernel
// ring (where the program counts lost events) rather than into unbounded memory here.
#include <bpf/libbpf.h>
#include <fcntl.h>

#include <atomic>
#include <thread>
#include <vector>

#include "bpf.hh"
#include "ringbuf.hh"

namespace weir {

namespace {
constexpr size_t kBatchRecords = 256;
constexpr int kPollMs = 50;

struct Batch {
  std::vector<uint8_t> bytes;
  std::vector<uint32_t> lens;
};
}  // namespace

class RingBufferWrap;
void DeliverBatch(Napi::Env env, Napi::Function fn, RingBufferWrap* self, Batch* b);
using RingTsfn = Napi::TypedThreadSafeFunction<RingBufferWrap, Batch, DeliverBatch>;

class RingBufferWrap : public Napi::ObjectWrap<RingBufferWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "RingBufferConsumer",
                       {InstanceMethod("start", &RingBufferWrap::Start), InstanceMethod("stop", &RingBufferWrap::Stop),
                        InstanceAccessor("delivered", &RingBufferWrap::Delivered, nullptr)});
  }

  explicit RingBufferWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RingBufferWrap>(info) {
    Napi::Env env = info.Env();
    Napi::Value mv = info[0];
    if (!mv.IsObject() || !mv.As<Napi::Object>().InstanceOf(Data(env).bpfMapCtor.Value()))
      throw Napi::TypeError::New(env, "ringBuffer needs a BpfMap");
    if (!info[1].IsFunction()) throw Napi::TypeError::New(env, "ringBuffer needs an onRecord function");
    onRecord_ = Napi::Persistent(info[1].As<Napi::Function>());
    Guard(env, [&] {
      BpfMapWrap* map = BpfMapWrap::Unwrap(mv.As<Napi::Object>());
      if (map->Type() != BPF_MAP_TYPE_RINGBUF) throw SysError{"ring_buffer__new", EINVAL, "on map " + map->Name(), "not a ring buffer map"};
      map->LiveFd();
    });
    map_ = Napi::Persistent(mv.As<Napi::Object>());
  }

  ~RingBufferWrap() override {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
    Release();
  }

 private:
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (running_) return env.Undefined();
    if (thread_.joinable()) thread_.join();  // a previous run that has fully stopped
    // Kernel resources exist only while running, so a stopped consumer holds no fds.
    Guard(env, [&] {
      BpfMapWrap* map = BpfMapWrap::Unwrap(map_.Value());
      mapFd_.Reset(CheckSys(::fcntl(map->LiveFd(), F_DUPFD_CLOEXEC, 3), "dup map fd"));
      rb_ = ring_buffer__new(mapFd_.Get(), &RingBufferWrap::OnSample, this, nullptr);
      if (rb_ == nullptr) {
        int e = errno;
        mapFd_.Reset();
        throw SysError{"ring_buffer__new", e, "on map " + map->Name(), ""};
      }
    });
    stopping_ = false;
    pollError_ = 0;
    tsfn_ = RingTsfn::New(env, onRecord_.Value(), "weir:ringbuf", 64, 1, this,
                          [](Napi::Env e, void*, RingBufferWrap* self) { self->Finished(e); });
    Ref();  // the consumer stays alive while its thread runs
    running_ = true;
    thread_ = std::thread([this] { Loop(); });
    return env.Undefined();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto d = Napi::Promise::Deferred::New(env);
    if (!running_) {
      d.Resolve(env.Undefined());
      return d.Promise();
    }
    waiters_.push_back(d);
    stopping_ = true;
    return d.Promise();
  }

  Napi::Value Delivered(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), delivered_); }

  // Poll thread.
  void Loop() {
    while (!stopping_) {
      int rc = ring_buffer__poll(rb_, kPollMs);
      if (rc < 0 && rc != -EINTR) {
        pollError_ = -rc;
        break;
      }
      if (!Flush()) break;
    }
    Flush();
    tsfn_.Release();
  }

  static int OnSample(void* ctx, void* data, size_t size) {
    auto* self = static_cast<RingBufferWrap*>(ctx);
    if (self->pending_ == nullptr) self->pending_ = new Batch();
    Batch* b = self->pending_;
    auto* p = static_cast<uint8_t*>(data);
    b->bytes.insert(b->bytes.end(), p, p + size);
    b->lens.push_back(static_cast<uint32_t>(size));
    if (b->lens.size() >= kBatchRecords && !self->Flush()) return -1;
    return 0;
  }

  // Hands the pending batch to JS; blocks while 64 batches are queued. False once JS is gone.
  bool Flush() {
    if (pending_ == nullptr) return true;
    Batch* b = pending_;
    pending_ = nullptr;
    napi_status st = tsfn_.BlockingCall(b);
    if (st != napi_ok) {
      delete b;
      return false;
    }
    return true;
  }

  friend void DeliverBatch(Napi::Env env, Napi::Function fn, RingBufferWrap* self, Batch* b);

  void Release() {
    if (rb_ != nullptr) ring_buffer__free(rb_);
    rb_ = nullptr;
    mapFd_.Reset();
  }

  void Finished(Napi::Env env) {
    if (thread_.joinable()) thread_.join();
    Release();
    running_ = false;
    std::vector<Napi::Promise::Deferred> waiters;
    waiters.swap(waiters_);
    for (auto& w : waiters) {
      if (pollError_ != 0)
        w.Reject(ToJsError(env, SysError{"ring_buffer__poll", pollError_, "", ""}).Value());
      else
        w.Resolve(env.Undefined());
    }
    Unref();
  }

  Napi::FunctionReference onRecord_;
  Napi::ObjectReference map_;  // keeps the map (and its object) alive for restarts
  Fd mapFd_;
  ring_buffer* rb_ = nullptr;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  RingTsfn tsfn_;
  Batch* pending_ = nullptr;  // poll thread only
  bool running_ = false;      // main thread only
  int pollError_ = 0;
  double delivered_ = 0;
  std::vector<Napi::Promise::Deferred> waiters_;
};

// Main thread: one JS call per record, in order.
void DeliverBatch(Napi::Env env, Napi::Function fn, RingBufferWrap* self, Batch* b) {
  std::unique_ptr<Batch> owned(b);
  if (env == nullptr || b == nullptr) return;  // environment shutting down
  size_t off = 0;
  for (uint32_t len : owned->lens) {
    Napi::HandleScope scope(env);
    Napi::Buffer<uint8_t> rec = Napi::Buffer<uint8_t>::Copy(env, owned->bytes.data() + off, len);
    off += len;
    self->delivered_ += 1;
    try {
      fn.Call({rec});
    } catch (const Napi::Error& e) {
      // Same fate as an exception thrown from any other event callback.
      napi_fatal_exception(env, e.Value());
      return;
    }
  }
}

Napi::Function DefineRingBuffer(Napi::Env env) {
  return RingBufferWrap::Define(env);
}

}  // namespace weir
