// env_failpoints.cc — OpenWithEnvFailpoints (include/fstx/fault.h).
#include <cstdlib>
#include <memory>
#include <mutex>

#include "fstx/fault.h"

namespace fstx::fault {
namespace {

// The failpoints and seams of every OpenWithEnvFailpoints call: they must
// outlive any journal opened with the options, so they live as long as the
// process.
struct EnvSeams {
  Failpoints failpoints;
  std::unique_ptr<PosixFs> posix;
  std::unique_ptr<FaultFs> faulty;
};

std::mutex g_mu;
std::vector<std::unique_ptr<EnvSeams>>* g_seams = new std::vector<std::unique_ptr<EnvSeams>>;

}  // namespace

Result<std::unique_ptr<Journal>> OpenWithEnvFailpoints(fstx::Options options) {
  const char* env = std::getenv("FSTX_FAILPOINTS");
  if (env == nullptr || *env == '\0') return Journal::Open(options);
  auto rules = Failpoints::Parse(env);
  if (!rules.ok()) return rules.status().Annotate("FSTX_FAILPOINTS");
  auto seams = std::make_unique<EnvSeams>();
  for (const Rule& r : rules.value()) seams->failpoints.Add(r);
  Fs* target = options.fs;
  if (target == nullptr) {
    auto posix = PosixFs::Open(options.roots);
    if (!posix.ok()) return posix.status().Annotate("FSTX_FAILPOINTS: opening the roots");
    seams->posix = std::move(posix.value());
    target = seams->posix.get();
  }
  seams->faulty = std::make_unique<FaultFs>(target, &seams->failpoints);
  options.fs = seams->faulty.get();
  Failpoints* fp = &seams->failpoints;
  {
    std::lock_guard<std::mutex> l(g_mu);
    g_seams->push_back(std::move(seams));
  }
  return OpenJournal(options, fp);
}

}  // namespace fstx::fault
