// record.h — the journal's record types. They are public (fstx/record.h,
// handed out by the inspection API); the encoding is in codec.h and
// journal/FORMAT.md.
#pragma once

#include "fstx/record.h"

namespace fstx {

// What a finished transaction keeps in history: the record without the
// written contents (write_file content, write_range bytes and their
// before-image); sizes, hashes, paths and fingerprints stay.
void StripContent(TxRecord* rec);

}  // namespace fstx
