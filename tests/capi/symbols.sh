#!/usr/bin/env bash
# symbols.sh LIBFSTX REPORT — the ABI of libfstx.so: its soname is
# libfstx.so.0, and the dynamic symbols it defines are fstx's public API
# only: C functions named fstx_* and C++ names in namespace fstx (their
# typeinfo and vtables), none of fmt, spdlog, LMDB glue or the standard
# library, none of the engine's internals (JournalStore, ops::, plan, ...)
# and nothing of the testing engine (planted bugs, the journal hook).
set -uo pipefail
LIB=$1
REPORT=$2
. "$(dirname "$0")/report.sh"

if [[ ! -f $LIB ]]; then
  case_fail Exists "$LIB does not exist"
  write_report "$REPORT" AbiSymbols
fi
case_ok Exists

soname=$(readelf -d "$LIB" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [[ $soname == libfstx.so.0 ]]; then case_ok Soname; else case_fail Soname "SONAME is '$soname', want libfstx.so.0"; fi

syms=$(nm -D --defined-only "$LIB" | awk '{print $3}' | c++filt | sort -u)
n=$(grep -c . <<<"$syms")
echo "libfstx.so exports $n symbols"
# Public: C API, or a C++ name (or its typeinfo/vtable) in namespace fstx,
# except the internal sub-namespaces and classes.
bad=$(grep -vE '^(fstx_[a-z0-9_]+|(typeinfo for |typeinfo name for |vtable for )?fstx::.*)$' <<<"$syms" || true)
if [[ -z $bad ]]; then case_ok OnlyFstxNames
else case_fail OnlyFstxNames "non-fstx symbols exported: $(head -20 <<<"$bad" | tr '\n' ';')"; fi

internal='fstx::(JournalStore|StoreOptions|WriteBatch|ops::|plan|Plan|BarrierTracker|LockTable|RecoverTransaction|RecoveryEnv|hash::|capi::|Encode|Decode|CallbackLogger|CurrentOwner|SameOwner|ParseStagingLeaf|StagingDir|JournalAccess|Journal::Impl|Transaction::Impl)'
leaked=$(grep -E "$internal" <<<"$syms" || true)
if [[ -z $leaked ]]; then case_ok NoInternals
else case_fail NoInternals "engine internals exported: $(head -20 <<<"$leaked" | tr '\n' ';')"; fi

testing=$(nm -C "$LIB" | grep -E 'planted::|OpenWithHook|commit_hook' || true)
if [[ -z $testing ]]; then case_ok NoTestingEngine
else case_fail NoTestingEngine "the testing engine is in libfstx.so: $(head -5 <<<"$testing" | tr '\n' ';')"; fi

# The public API is there: a C function and C++ entry points.
missing=""
for want in fstx_journal_open fstx_strerror fstx_list fstx_options_set_lock_wait_ms fstx_options_set_history_limits fstx_options_set_inline_content_max fstx_txn_write_file_from 'fstx::Transaction::WriteFileFrom(' 'fstx::Journal::Open(' 'fstx::Inspector::Open(' 'fstx::Version()'; do
  grep -qF "$want" <<<"$syms" || missing+=" $want"
done
if [[ -z $missing ]]; then case_ok Exports; else case_fail Exports "missing public symbols:$missing"; fi
write_report "$REPORT" AbiSymbols
