// rename_vm.cc — the VM rename of examples/c_daemon with the C++ API
// (fstx/fstx.h), then a listing of the journal's transactions.
//
//   rename_vm_cpp JOURNAL ROOT OLD NEW
//
// Build: c++ -std=c++20 rename_vm.cc $(pkg-config --cflags --libs fstx)
#include <fstx/fstx.h>

#include <cstdio>
#include <fstream>
#include <sstream>

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s JOURNAL ROOT OLD NEW\n", argv[0]);
    return 2;
  }
  const std::string root = argv[2], old_name = argv[3], new_name = argv[4];
  fstx::Options o;
  o.dir = argv[1];
  o.roots = {root};
  o.log = [](fstx::LogLevel level, std::string_view msg) {
    if (level >= fstx::LogLevel::kWarn) std::fprintf(stderr, "fstx: %.*s\n", int(msg.size()), msg.data());
  };
  auto journal = fstx::Journal::Open(o);
  if (!journal.ok()) {
    std::fprintf(stderr, "rename_vm_cpp: %s\n", journal.status().ToString().c_str());
    return 1;
  }
  const std::string q = root + "/qemu/";
  std::ifstream in(q + old_name + ".xml", std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string xml = buf.str(), tag = "<name>" + old_name + "</name>";
  const size_t at = xml.find(tag);
  if (at == std::string::npos) {
    std::fprintf(stderr, "rename_vm_cpp: %s%s.xml has no %s\n", q.c_str(), old_name.c_str(), tag.c_str());
    return 1;
  }
  const std::string edited = xml.substr(0, at) + "<name>" + new_name + "</name>" + xml.substr(at + tag.size());

  fstx::Transaction tx = journal->Begin("rename " + old_name + " to " + new_name);
  tx.Rename(q + old_name + ".xml", q + new_name + ".xml")
      .Expect(fstx::Precondition::Content(xml))
      .WriteFile(q + new_name + ".xml", edited, 0600)
      .Symlink("../" + new_name + ".xml", q + "autostart/" + new_name + ".xml")
      .Remove(q + "autostart/" + old_name + ".xml")
      .Rename(root + "/snapshot/" + old_name, root + "/snapshot/" + new_name)
      .Rename(root + "/images/" + old_name + ".qcow2", root + "/images/" + new_name + ".qcow2");
  fstx::Status s = tx.Commit();
  if (!s.ok()) std::fprintf(stderr, "rename_vm_cpp: %s\n", s.ToString().c_str());
  else std::printf("renamed %s to %s: transaction %llu\n", old_name.c_str(), new_name.c_str(),
                   static_cast<unsigned long long>(tx.id()));

  fstx::TxList list;
  (void)journal->Flush();  // records completions now (else with the next write)
  if (journal->inspector().List(/*finished=*/true, &list).ok()) {
    for (const auto* group : {&list.unfinished, &list.finished})
      for (const fstx::TxRecord& r : *group)
        std::printf("tx %llu %s \"%s\" %zu ops\n", static_cast<unsigned long long>(r.id),
                    fstx::tx_state_name(r.state), r.label.c_str(), r.intents.size());
  }
  if (s.ok()) return 0;
  return s.code() == fstx::Code::kNeedsAttention ? 3 : s.code() == fstx::Code::kNoSpace ? 4 : 1;
}
