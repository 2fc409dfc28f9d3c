#pragma once
#include "common.hh"
namespace weir {
Napi::Function DefineRingBuffer(Napi::Env env);
}
