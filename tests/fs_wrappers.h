// fs_wrappers.h — small test seams over the real filesystem: fail the
// n-th mutating call, or log every call.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "fstx/fs.h"

namespace fstx::testing {

// Calls `hook(call, path)` before every mutating call and barrier; a
// non-ok status from the hook is returned instead of doing the call.
class HookFs : public FsWrapper {
 public:
  using Hook = std::function<Status(const char* call, const std::string& path)>;
  HookFs(Fs* t, Hook hook) : FsWrapper(t), hook_(std::move(hook)) {}
  Status CreateFile(const std::string& p, std::string_view d, uint32_t m, int64_t u, int64_t g) override {
    Status s = hook_("create", p);
    return s.ok() ? FsWrapper::CreateFile(p, d, m, u, g) : s;
  }
  Status WriteAt(const std::string& p, uint64_t off, std::string_view d) override {
    Status s = hook_("write", p);
    return s.ok() ? FsWrapper::WriteAt(p, off, d) : s;
  }
  Status Symlink(const std::string& t, const std::string& p) override {
    Status s = hook_("symlink", p);
    return s.ok() ? FsWrapper::Symlink(t, p) : s;
  }
  Status Mkdir(const std::string& p, uint32_t m) override {
    Status s = hook_("mkdir", p);
    return s.ok() ? FsWrapper::Mkdir(p, m) : s;
  }
  Status Rename(const std::string& a, const std::string& b, RenameMode m) override {
    Status s = hook_("rename", a + " -> " + b);
    return s.ok() ? FsWrapper::Rename(a, b, m) : s;
  }
  Status Link(const std::string& a, const std::string& b) override {
    Status s = hook_("link", a + " -> " + b);
    return s.ok() ? FsWrapper::Link(a, b) : s;
  }
  Status Unlink(const std::string& p) override {
    Status s = hook_("unlink", p);
    return s.ok() ? FsWrapper::Unlink(p) : s;
  }
  Status Rmdir(const std::string& p) override {
    Status s = hook_("rmdir", p);
    return s.ok() ? FsWrapper::Rmdir(p) : s;
  }
  Status SyncDir(const std::string& p) override {
    Status s = hook_("syncdir", p);
    return s.ok() ? FsWrapper::SyncDir(p) : s;
  }

 private:
  Hook hook_;
};

// Fails the n-th mutating call or barrier (1-based) with EIO, before it.
class FailNthFs : public HookFs {
 public:
  FailNthFs(Fs* t, int n, bool count_syncs = false)
      : HookFs(t, [this, n, count_syncs](const char* call, const std::string& p) {
          if (!count_syncs && std::string(call) == "syncdir") return Status();
          if (++calls_ != n) return Status();
          return Status::FromErrno(EIO, std::string("injected ") + call, p);
        }) {}
  int calls() const { return calls_; }

 private:
  int calls_ = 0;
};

// Records "call path" for every mutating call and barrier.
class CallLogFs : public HookFs {
 public:
  explicit CallLogFs(Fs* t)
      : HookFs(t, [this](const char* call, const std::string& p) {
          std::lock_guard<std::mutex> l(mu_);
          log_.push_back(std::string(call) + " " + p);
          return Status();
        }) {}
  std::vector<std::string> log() const {
    std::lock_guard<std::mutex> l(mu_);
    return log_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> log_;
};

}  // namespace fstx::testing
