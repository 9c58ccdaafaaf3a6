// log_sink.cc — CallbackLogger (log_sink.h).
#include "src/log_sink.h"

#include <mutex>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

namespace fstx {
namespace {

class CallbackSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit CallbackSink(LogFunction fn) : fn_(std::move(fn)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    LogLevel level = LogLevel::kDebug;
    switch (msg.level) {
      case spdlog::level::info: level = LogLevel::kInfo; break;
      case spdlog::level::warn: level = LogLevel::kWarn; break;
      case spdlog::level::err:
      case spdlog::level::critical: level = LogLevel::kError; break;
      default: break;
    }
    fn_(level, std::string_view(msg.payload.data(), msg.payload.size()));
  }
  void flush_() override {}

 private:
  LogFunction fn_;
};

}  // namespace

std::shared_ptr<spdlog::logger> CallbackLogger(LogFunction fn) {
  auto logger = std::make_shared<spdlog::logger>("fstx", std::make_shared<CallbackSink>(std::move(fn)));
  logger->set_level(spdlog::level::debug);
  return logger;
}

}  // namespace fstx
