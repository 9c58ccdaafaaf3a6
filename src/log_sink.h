// log_sink.h — an spdlog logger that hands each message to a LogFunction
// (Options::log, the C API's log callback).
#pragma once

#include <memory>

#include "fstx/fstx.h"

namespace spdlog {
class logger;
}

namespace fstx {

// Every level goes to `fn` (debug included); the caller filters.
std::shared_ptr<spdlog::logger> CallbackLogger(LogFunction fn);

}  // namespace fstx
