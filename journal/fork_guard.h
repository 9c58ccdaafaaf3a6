// fork_guard.h — a fork() child does not keep the journal's writer lock.
//
// The writer lock is a flock(2) on DIR/writer.lock, which belongs to the
// open file description: a child forked without exec shares it, so it would
// keep the lock alive after the parent closed the journal or died, and no
// process could open the journal for writing until the child exits. Every
// writer.lock fd is registered here; a pthread_atfork child handler closes
// the child's copies at once (the parent keeps its lock). Registration is
// lock-free (the handler runs in the child, where another thread's mutex
// may be held forever); up to 1024 descriptors per process are covered
// (writer locks, and the path-lock descriptors of commits in flight).
#pragma once

namespace fstx::fork_guard {

void Register(int fd);
void Unregister(int fd);

// Marks every descriptor of this process that refers to one of `files`
// close-on-exec. LMDB 0.9 opens data.mdb (twice for a writer: the map and
// the O_DSYNC meta fd) without O_CLOEXEC and does not hand out the second
// fd; this finds them in /proc/self/fd right after mdb_env_open. (An exec
// in another thread between the two leaks them: open journals before
// starting threads that spawn programs, or use posix_spawn with a closing
// file-actions list.)
void CloseOnExec(const char* const* files, int n);

}  // namespace fstx::fork_guard
