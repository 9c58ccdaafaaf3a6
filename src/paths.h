// paths.h — see fstx/paths.h (public).
#pragma once

#include "fstx/paths.h"
