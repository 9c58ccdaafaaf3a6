// layout.h — moved to include/fstx/virt/layout.h (the interface of the fstx_virt
// component that the fstx command uses; not installed).
#pragma once

#include "fstx/virt/layout.h"
