// Module entry: registers classes and functions. Nothing touches the kernel at load time.
#include "bpf.hh"
#include "ops.hh"
#include "ringbuf.hh"

namespace weir {

namespace {

// init(NativeError): the TypeScript wrapper hands over its error class so every failure is an
// `instanceof NativeError` with `step` and `errno`.
Napi::Value InitErrors(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) throw Napi::TypeError::New(info.Env(), "init(NativeError) needs a class");
  Data(info.Env()).nativeError = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  env.SetInstanceData(data);
  InstallLibbpfPrint();
  Napi::Function obj = BpfObjectWrap::Define(env);
  Napi::Function prog = BpfProgramWrap::Define(env);
  Napi::Function map = BpfMapWrap::Define(env);
  Napi::Function ring = DefineRingBuffer(env);
  data->bpfObjectCtor = Napi::Persistent(obj);
  data->bpfProgramCtor = Napi::Persistent(prog);
  data->bpfMapCtor = Napi::Persistent(map);
  data->ringBufferCtor = Napi::Persistent(ring);
  data->linkWatchCtor = Napi::Persistent(DefineLinkWatch(env));
  exports.Set("RingBufferConsumer", ring);
  exports.Set("init", Napi::Function::New(env, InitErrors, "init"));
  exports.Set("openObject", Napi::Function::New(env, OpenObject, "openObject"));
  exports.Set("openPinnedMap", Napi::Function::New(env, OpenPinnedMap, "openPinnedMap"));
  exports.Set("pinnedProgramId", Napi::Function::New(env, PinnedProgramId, "pinnedProgramId"));
  exports.Set("probeFeatures", Napi::Function::New(env, ProbeFeatures, "probeFeatures"));
  exports.Set("tcAttach", Napi::Function::New(env, TcAttach, "tcAttach"));
  exports.Set("tcQuery", Napi::Function::New(env, TcQuery, "tcQuery"));
  exports.Set("tcDetach", Napi::Function::New(env, TcDetach, "tcDetach"));
  exports.Set("tcDestroyClsact", Napi::Function::New(env, TcDestroyClsact, "tcDestroyClsact"));
  exports.Set("tcList", Napi::Function::New(env, TcList, "tcList"));
  exports.Set("tcDeleteFilter", Napi::Function::New(env, TcDeleteFilter, "tcDeleteFilter"));
  exports.Set("nlLinks", Napi::Function::New(env, NlLinks, "nlLinks"));
  exports.Set("nlLinkIndex", Napi::Function::New(env, NlLinkIndex, "nlLinkIndex"));
  exports.Set("nlCreateIfb", Napi::Function::New(env, NlCreateIfb, "nlCreateIfb"));
  exports.Set("nlDeleteLink", Napi::Function::New(env, NlDeleteLink, "nlDeleteLink"));
  exports.Set("nlSetTbf", Napi::Function::New(env, NlSetTbf, "nlSetTbf"));
  exports.Set("nlSetFlowClasses", Napi::Function::New(env, NlSetFlowClasses, "nlSetFlowClasses"));
  exports.Set("nlClearRootQdisc", Napi::Function::New(env, NlClearRootQdisc, "nlClearRootQdisc"));
  exports.Set("nlRootQdisc", Napi::Function::New(env, NlRootQdisc, "nlRootQdisc"));
  exports.Set("nlWatchLinks", Napi::Function::New(env, NlWatchLinks, "nlWatchLinks"));
  return exports;
}

}  // namespace weir

static Napi::Object InitWeir(Napi::Env env, Napi::Object exports) {
  return weir::Init(env, exports);
}

NODE_API_MODULE(weir_native, InitWeir)
